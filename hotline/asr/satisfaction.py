"""Satisfaction answer recogniser for callback surveys (满意 / 基本满意 / 不满意).

The callback IVR asks "对处理结果满意请按1，基本满意请按2，不满意请按3" and the citizen
answers with a key or in speech. This module turns that answer into one of four labels:
`satisfied`, `basically_satisfied`, `dissatisfied` or `unclear` (no answer, a question
back, conflicting keys, anything we cannot commit to — the IVR then asks again).

Why rules and not a model: answers are short, the vocabulary is small and closed, and
the hard part is *structure* — negation ("不太满意", "没有不满意"), degree ("非常" vs
"基本"), contrast ("满意，就是慢了点") and self-correction ("满意，哦不，基本满意") —
which a lexicon with explicit scope rules handles transparently and which every miss
can be traced to (`SatisfactionAnswer.evidence`).

How an answer is read:

1. Normalise (`hotline.asr.text.normalise`): full-width → ASCII, traditional →
   simplified, tone marks dropped; noise tags such as "[noise]" and "<unk>" removed.
2. Keys: an answer made only of DTMF characters is read as keys — one repeated key of
   1/2/3 is an answer; any other key or two different keys is `unclear`.
3. English and pinyin phrases are rewritten to Chinese ("not satisfied" → 不满意,
   "bu man yi" → 不满意); frequent ASR confusions are repaired (慢意/瞒意/蛮意 → 满意,
   几本满意 → 基本满意, 布满意 → 不满意); spaces between Chinese words are dropped.
4. The answer is cut into clauses at punctuation and each clause is tokenised by
   greedy longest match against the lexicon below (so "不好说" is one token and not
   "不好" + "说", and "不怎么满意" never exposes "怎么满意").
5. Each occurrence of 满意 is scored from the modifiers in the few characters before it
   (inside its clause, after the previous decision):
   * an odd number of negations → dissatisfied ("不太满意", "谈不上满意");
   * two negations → basically satisfied, as a *weak* decision ("没有不满意") — unless
     the first one is "没什么" (nothing to be unhappy about → satisfied);
   * a rhetorical question word flips the polarity ("怎么可能满意" → dissatisfied,
     "怎么会不满意" → satisfied); fixed sarcasm ("满意个屁", "能满意吗") is dissatisfied;
   * a hedge (基本, 比较, 还算, 勉强, 一般 …) → basically satisfied; intensifiers
     (非常, 很, 特别 …) do not change the label; otherwise satisfied.
   Spoken option numbers ("一", "选二", "第三个", "幺") count like keys when a clause is
   nothing but the option reference (so "一点都不", "一般", "三个月了" never do).
   Evaluative words without 满意 ("还行", "挺好的", "太差了", "问题没解决") give a
   second, weaker layer of decisions.
6. Combine, in this order: after a correction marker (不对, 说错了, 哦不, 算了) only what
   follows counts; sarcasm wins; explicit 满意-decisions beat evaluative ones; explicit
   satisfied + dissatisfied about different aspects → basically satisfied; otherwise
   the last decision wins; a satisfied answer followed by a contrast (但是, 不过, 就是 …)
   drops to basically satisfied, or to dissatisfied when what follows the contrast is a
   complaint about an evaluative answer ("态度挺好的，但是问题没解决").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path

from hotline.asr.text import join_cjk_words, normalise
from hotline.vocabulary.ports import Suggestion

DEFAULT_SATISFACTION_CSV = Path(__file__).parent / "data" / "satisfaction_answers.csv"
"""The shipped labelled answers the recogniser is evaluated on."""


class SatisfactionLabel(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    UNCLEAR = "unclear"


S = SatisfactionLabel.SATISFIED
B = SatisfactionLabel.BASICALLY_SATISFIED
D = SatisfactionLabel.DISSATISFIED
U = SatisfactionLabel.UNCLEAR

LABELS: tuple[SatisfactionLabel, ...] = (S, B, D, U)

# The survey's key assignment (the IVR prompt must say the same).
KEY_LABELS: dict[str, SatisfactionLabel] = {"1": S, "2": B, "3": D}


@dataclass(frozen=True, slots=True)
class SatisfactionAnswer:
    """A recognised answer, with the cues that decided it (for audits and error lists)."""

    label: SatisfactionLabel
    confidence: float
    evidence: tuple[str, ...] = ()


class _Kind(Enum):
    SAT = "sat"  # 满意
    NEG = "neg"
    NOTHING = "nothing"  # 没什么 / 没啥: "没什么不满意" means satisfied
    HEDGE = "hedge"
    HEDGE_EVAL = "hedge_eval"  # 一般: a hedge before 满意, "so-so" on its own
    FLIP = "flip"  # rhetorical question word: 怎么可能 / 哪里
    SARCASM = "sarcasm"  # fixed rhetorical phrase meaning dissatisfied
    QUESTION = "question"  # 满不满意: echo of the question, no decision
    CONTRAST = "contrast"
    CORRECTION = "correction"
    EVAL = "eval"  # evaluative phrase with a fixed label
    UNSURE = "unsure"  # 不知道 / 无所谓: explicit non-answer


_LEXICON: dict[str, tuple[_Kind, SatisfactionLabel | None]] = {}


def _add(kind: _Kind, label: SatisfactionLabel | None, terms: str) -> None:
    for term in terms.split():
        _LEXICON[term] = (kind, label)


# The lexicon: space-separated terms per kind (longest match wins when tokenising).
_add(_Kind.SAT, None, "满意")
_add(
    _Kind.NEG,
    None,
    "不 没 没有 并不 并没有 不是 不算 谈不上 说不上 算不上 不能说 "
    "没觉得 未 不大 不太 不怎么 不够 一点都不 一点也不 一点儿也不 根本不 "
    "完全不 压根不 极不",
)
_add(_Kind.NOTHING, None, "没什么 没有什么 没啥 没有啥")
_add(
    _Kind.HEDGE,
    None,
    "基本 基本上 还算 比较 还比较 勉强 总体 总体上 总的来说 大体 大体上 大致 大致上 算是 差不多",
)
_add(_Kind.HEDGE_EVAL, B, "一般 一般般")
_add(_Kind.FLIP, None, "怎么可能 怎么会 怎么 哪里 哪儿 哪")
_add(
    _Kind.SARCASM,
    D,
    "满意个屁 满意个啥 满意个鬼 满意什么 满意啥 满意才怪 还满意呢 能满意吗 能满意么 能满意啊",
)
_add(_Kind.QUESTION, None, "满不满意 满意吗 满意么 满意度")
_add(_Kind.CONTRAST, None, "但是 但 不过 就是 只是 可是 然而 可惜")
_add(_Kind.CORRECTION, None, "不对 说错了 说错 哦不 噢不 喔不 算了 改成")
_add(
    _Kind.UNSURE,
    U,
    "不知道 不清楚 说不好 不好说 无所谓 随便 都行 都差不多 都一样 没听清 听不清",
)
_add(
    _Kind.EVAL,
    S,
    "挺好 很好 非常好 蛮好 太好了 特别好 真好 不错 好评 点赞 点个赞 "
    "没意见 没有意见 没什么意见 满分 好多了 帮了大忙 及时 解决了 已经解决 "
    "处理好了 修好了 办好了 弄好了 搞定了 清走了",
)
_add(
    _Kind.EVAL,
    B,
    "还行 还可以 还算可以 还好 凑合 马马虎虎 过得去 说得过去 差不多吧 "
    "就那样 也就那样 行吧 将就 接受 一部分 一半 好一点 就这样吧 先这样 "
    "部分解决",
)
_add(
    _Kind.EVAL,
    D,
    "不好 不太好 不怎么好 很差 太差 非常差 特别差 真差 好差 极差 比较差 "
    "糊弄 差评 不行 不怎么样 不咋地 不咋样 "
    "糟糕 糟透 没用 没有用 有什么用 没什么用 有意见 意见很大 失望 投诉 "
    "气人 气死 什么破 浪费 不作为 差劲 没解决 没有解决 未解决 没处理 "
    "没有处理 没人 没有人 没下文 没回复 没有回复 没有回音 没回音 没改 "
    "不会改 没变化 老样子 还是那样 不管 没个说法 没说法 啥也没干 "
    "什么也没干 踢皮球 推来推去 推诿 敷衍 走个形式 走形式 不接受 不认可 "
    "零分 不及格 不及时 太慢了 拖着不办 一点用都没有 一点用也没有",
)
_MAX_TERM = max(len(t) for t in _LEXICON)

# Terms that only mean something when they are the whole answer: "行" is "fine" on its
# own but a syllable of 银行/进行 elsewhere; "垃圾" alone is an insult, but "垃圾清走了"
# is about rubbish.
_STANDALONE = re.compile(r"(?:还是|勉强|也)?(行|可以|垃圾|差)(?:\1)*")
_STANDALONE_LABELS = {"行": B, "可以": B, "垃圾": D, "差": D}
_SCORE_TEN = re.compile(r"(?:我)?(?:给|打)?(?:你们)?(?:打)?(?:十分|一百分|100分|满分)")
_OPTION = re.compile(
    r"(?:我|那|就|那就)*(?:按|选|选择|按键|是)?(?:第)?"
    r"([一二两三幺壹贰叁123])\1*(?:号|个|项|个选项)?"
    r"(?P<rest>(?:非常|很|基本|不)?满意)?"
)
_OPTION_LABELS = {
    "一": S,
    "幺": S,
    "壹": S,
    "1": S,
    "二": B,
    "两": B,
    "贰": B,
    "2": B,
    "三": D,
    "叁": D,
    "3": D,
}
_LEADING_FILLERS = ("嗯", "呃", "啊", "哦", "噢", "唉", "哎", "恩", "额", "那个", "这个", "我觉得")
_TRAILING_FILLERS = ("吧", "的", "啊", "呀", "了", "呢", "嘛", "哈", "哦", "啦", "吗")

# "满意不满意" is the question echoed back, except in "不满意不满意" (a repeat).
_A_NOT_A = re.compile(r"(?<!不)满意不满意")
_NOISE_TAGS = re.compile(r"\[[^\]]*\]|<[^>]*>")
_DTMF = re.compile(r"[0-9*#]+")
_CLAUSE = re.compile(r"[^,.!?;:，。！？；：、…~\-—\"“”'‘’()（）【】《》\n]+")

# English and pinyin, most specific first (they are rewritten before the Chinese rules).
_LATIN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), chinese)
    for pattern, chinese in (
        (r"\bnot (?:very |so |too |really |quite )?satisf(?:ied|actory)\b", "不满意"),
        (r"\b(?:dis|un)satisf(?:ied|actory)\b", "不满意"),
        (r"\bbasically satisfied\b", "基本满意"),
        (r"\b(?:very|really|quite|so|totally|completely|fully) (?:much )?satisfied\b", "非常满意"),
        (r"\bsatisf(?:ied|actory)\b", "满意"),
        (r"\bnot bad\b", "不错"),
        (r"\bnot good\b", "不好"),
        (r"\b(?:very |really |so )?(?:good|great|excellent|perfect)\b", "很好"),
        (r"\bso[- ]?so\b", "一般"),
        (r"\b(?:ok|okay|fine|alright)\b", "还行"),
        (r"\b(?:bad|terrible|awful|poor)\b", "很差"),
        (r"\bbu ?man ?yi\b", "不满意"),
        (r"\bji ?ben ?man ?yi\b", "基本满意"),
        (r"\bman ?yi\b", "满意"),
        (r"\bfei ?chang\b", "非常"),
        (r"\bhai ?xing\b", "还行"),
        (r"\bhai ?ke ?yi\b", "还可以"),
        (r"\byi ?ban\b", "一般"),
        (r"\bji ?ben\b", "基本"),
        (r"\bhen\b", "很"),
        (r"\bbu\b", "不"),
    )
)

# Recogniser confusions seen with small Mandarin models: 满意 mǎnyì comes out as
# 慢意/瞒意/蛮意/满一…, 基本 as 几本/鸡本, 不 as 布/步, 还行 as 还型.
_HOMOPHONES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), fixed)
    for pattern, fixed in (
        (r"[慢瞒蛮曼]意", "满意"),
        (r"满[遗衣亿忆易]", "满意"),
        (r"满一(?![个年月天周次期半点])", "满意"),
        (r"[几鸡机积]本(?=满意)", "基本"),
        (r"[布步](?=满意)", "不"),  # not 部: "全部满意" is fully satisfied
        (r"还型", "还行"),
        (r"一半般", "一般般"),
    )
)

# How sure each kind of decision is; used as the confidence of the returned label.
_CONFIDENCE = {
    "keys": 0.99,
    "explicit": 0.95,
    "option": 0.95,
    "sarcasm": 0.85,
    "evaluative": 0.8,
    "combined": 0.75,
    "weak": 0.7,
    "no_answer": 0.99,
    "no_cue": 0.6,
    "conflict": 0.6,
}


@dataclass(frozen=True, slots=True)
class _Decision:
    position: int  # character offset in the cleaned answer
    clause: int
    label: SatisfactionLabel
    layer: str  # "explicit", "weak", "option", "evaluative", "sarcasm"
    cue: str


@dataclass(frozen=True, slots=True)
class _Token:
    position: int
    clause: int
    text: str
    kind: _Kind | None
    label: SatisfactionLabel | None


def recognise_keys(keys: str) -> SatisfactionAnswer:
    """Keys pressed (DTMF): one repeated 1/2/3 is an answer, anything else is unclear."""
    digits = {k for k in keys if k.isdigit()}
    if len(digits) == 1:
        (key,) = digits
        if key in KEY_LABELS:
            return SatisfactionAnswer(KEY_LABELS[key], _CONFIDENCE["keys"], (f"key {key}",))
        return SatisfactionAnswer(U, _CONFIDENCE["keys"], (f"key {key} is not an option",))
    if not digits:
        return SatisfactionAnswer(U, _CONFIDENCE["no_answer"], ("no key",))
    return SatisfactionAnswer(U, _CONFIDENCE["conflict"], ("keys " + "".join(sorted(digits)),))


def recognise(text: str) -> SatisfactionAnswer:
    """Recognise a keypad or spoken answer to the satisfaction question. Never raises."""
    cleaned = _NOISE_TAGS.sub(" ", normalise(text)).strip()
    if not cleaned:
        return SatisfactionAnswer(U, _CONFIDENCE["no_answer"], ("no answer",))
    if _DTMF.fullmatch(cleaned.replace(" ", "")):
        return recognise_keys(cleaned)
    for pattern, chinese in _LATIN:
        cleaned = pattern.sub(chinese, cleaned)
    cleaned = join_cjk_words(cleaned).replace(" ", "")
    for pattern, fixed in _HOMOPHONES:
        cleaned = pattern.sub(fixed, cleaned)
    cleaned = _A_NOT_A.sub("满不满意", cleaned)
    decisions: list[_Decision] = []
    markers: list[_Token] = []
    for index, clause in enumerate(_CLAUSE.finditer(cleaned)):
        _read_clause(clause.group(), index, clause.start(), decisions, markers)
    return _combine(decisions, markers)


def _strip_fillers(clause: str) -> str:
    changed = True
    while changed and clause:
        changed = False
        for filler in _LEADING_FILLERS:
            if clause.startswith(filler) and len(clause) > len(filler):
                clause, changed = clause[len(filler) :], True
        for filler in _TRAILING_FILLERS:
            if clause.endswith(filler) and len(clause) > len(filler):
                clause, changed = clause[: -len(filler)], True
    return clause


def _tokenise(clause: str, index: int, base: int) -> list[_Token]:
    """Greedy longest match; characters outside the lexicon become kind-less tokens."""
    tokens: list[_Token] = []
    i = 0
    while i < len(clause):
        for length in range(min(_MAX_TERM, len(clause) - i), 0, -1):
            entry = _LEXICON.get(clause[i : i + length])
            if entry is not None:
                tokens.append(_Token(base + i, index, clause[i : i + length], entry[0], entry[1]))
                i += length
                break
        else:
            tokens.append(_Token(base + i, index, clause[i], None, None))
            i += 1
    return tokens


def _read_clause(
    clause: str, index: int, base: int, decisions: list[_Decision], markers: list[_Token]
) -> None:
    core = _strip_fillers(clause)
    match = _STANDALONE.fullmatch(core)
    if match is not None:
        decisions.append(
            _Decision(base, index, _STANDALONE_LABELS[match.group(1)], "evaluative", core)
        )
        return
    if _SCORE_TEN.fullmatch(core):
        decisions.append(_Decision(base, index, S, "evaluative", core))
        return
    option = _OPTION.fullmatch(core)
    if option is not None:
        decisions.append(_Decision(base, index, _OPTION_LABELS[option.group(1)], "option", core))
        if not option.group("rest"):
            return
    tokens = _tokenise(clause, index, base)
    window: list[_Token] = []  # modifiers since the last decision in this clause
    for token in tokens:
        if token.kind is _Kind.SAT:
            decisions.append(_judge_sat(token, window))
            window = []
        elif token.kind is _Kind.SARCASM:
            decisions.append(_Decision(token.position, token.clause, D, "sarcasm", token.text))
            window = []
        elif token.kind in (_Kind.EVAL, _Kind.UNSURE):
            assert token.label is not None
            if token.label is not U:
                decisions.append(
                    _Decision(token.position, token.clause, token.label, "evaluative", token.text)
                )
            else:
                markers.append(token)
            window = []
        elif token.kind in (_Kind.CONTRAST, _Kind.CORRECTION, _Kind.QUESTION):
            markers.append(token)
            window = []
        else:
            window.append(token)
    # A hedge-evaluative word ("一般") not followed by 满意 is an answer by itself.
    for token in window:
        if token.kind is _Kind.HEDGE_EVAL:
            decisions.append(_Decision(token.position, token.clause, B, "evaluative", token.text))


# Only modifiers this close before 满意 apply to it ("不管怎样…满意" must not negate it).
_SCOPE_CHARS = 6


def _judge_sat(sat: _Token, window: list[_Token]) -> _Decision:
    scope = [t for t in window if sat.position - t.position <= _SCOPE_CHARS]
    negations = [t for t in scope if t.kind is _Kind.NEG]
    nothing = any(t.kind is _Kind.NOTHING for t in scope)
    flip = any(t.kind is _Kind.FLIP for t in scope)
    hedge = any(t.kind in (_Kind.HEDGE, _Kind.HEDGE_EVAL) for t in scope)
    cue = "".join(t.text for t in scope if t.kind is not None) + sat.text
    if nothing and negations:
        return _Decision(sat.position, sat.clause, S, "explicit", cue)
    if flip:
        # "怎么可能满意" is sarcasm (as strong as "满意个屁"); "怎么会不满意" is a yes.
        if len(negations) % 2:
            return _Decision(sat.position, sat.clause, S, "explicit", cue)
        return _Decision(sat.position, sat.clause, D, "sarcasm", cue)
    if len(negations) % 2:
        return _Decision(sat.position, sat.clause, D, "explicit", cue)
    if negations:
        return _Decision(sat.position, sat.clause, B, "weak", cue)
    if hedge:
        return _Decision(sat.position, sat.clause, B, "explicit", cue)
    return _Decision(sat.position, sat.clause, S, "explicit", cue)


def _combine(decisions: list[_Decision], markers: list[_Token]) -> SatisfactionAnswer:
    decisions = sorted(decisions, key=lambda d: d.position)
    corrections = [m.position for m in markers if m.kind is _Kind.CORRECTION]
    if corrections:
        after = [d for d in decisions if d.position > corrections[-1]]
        if after:
            decisions = after
            markers = [m for m in markers if m.position > corrections[-1]]
    if not decisions:
        unsure = [m.text for m in markers if m.kind is _Kind.UNSURE]
        if unsure:
            return SatisfactionAnswer(U, _CONFIDENCE["explicit"], tuple(unsure))
        return SatisfactionAnswer(U, _CONFIDENCE["no_cue"], ("no satisfaction cue",))
    evidence = tuple(f"{d.layer}:{d.cue}" for d in decisions)
    sarcasm = [d for d in decisions if d.layer == "sarcasm"]
    if sarcasm:
        return SatisfactionAnswer(D, _CONFIDENCE["sarcasm"], evidence)
    options = [d for d in decisions if d.layer == "option"]
    explicit = [d for d in decisions if d.layer == "explicit"]
    if options:
        spoken = {d.label for d in explicit if any(o.clause == d.clause for o in options)}
        if spoken and spoken != {options[-1].label}:
            return SatisfactionAnswer(U, _CONFIDENCE["conflict"], evidence)
        explicit = sorted(explicit + options, key=lambda d: d.position)
    contrasts = [m.position for m in markers if m.kind is _Kind.CONTRAST]
    if explicit:
        labels = {d.label for d in explicit}
        if len(labels) == 1:
            label = explicit[0].label
            layer = "option" if explicit[0].layer == "option" else "explicit"
        elif labels >= {S, D}:
            # Satisfied with one aspect, dissatisfied with another.
            label, layer = B, "combined"
        else:
            label, layer = explicit[-1].label, "combined"
        first_sat = next((d.position for d in explicit if d.label is S), None)
        if label is S and first_sat is not None and any(c > first_sat for c in contrasts):
            label, layer = B, "combined"
        return SatisfactionAnswer(label, _CONFIDENCE[layer], evidence)
    weak = [d for d in decisions if d.layer == "weak"]
    if weak:
        return SatisfactionAnswer(B, _CONFIDENCE["weak"], evidence)
    label = decisions[-1].label
    layer = "evaluative"
    first_sat = next((d.position for d in decisions if d.label is S), None)
    if first_sat is not None:
        later = [c for c in contrasts if c > first_sat]
        if later:
            after_contrast = {d.label for d in decisions if d.position > later[0]}
            label = D if D in after_contrast else B
            layer = "combined"
    return SatisfactionAnswer(label, _CONFIDENCE[layer], evidence)


class SatisfactionRecogniser:
    """`TextClassifier` over the four answer labels, for the IVR's survey node."""

    def recognise(self, text: str) -> SatisfactionAnswer:
        return recognise(text)

    def classify(self, text: str, top_k: int = 3) -> list[Suggestion]:
        """The recognised label first with its confidence, the other labels sharing the
        remainder equally (the confidences sum to 1)."""
        answer = recognise(text)
        rest = (1.0 - answer.confidence) / (len(LABELS) - 1)
        ranked = [Suggestion(answer.label.value, answer.confidence)]
        ranked += [Suggestion(label.value, rest) for label in LABELS if label is not answer.label]
        return ranked[: max(top_k, 0)]
