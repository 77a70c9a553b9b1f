"""Text normalisation shared by the dispatch classifier and the satisfaction recogniser.

Transcripts (Vosk puts spaces between Chinese words), web forms (full-width digits and
punctuation) and the odd traditional-character answer must look alike before any rule
or model sees them, so everything goes through `normalise` first.
"""

from __future__ import annotations

import re
import unicodedata

# Traditional → simplified for the characters that matter in short answers and requests.
# A full converter (OpenCC) is a large dependency; unknown characters pass through and
# the model or the rules simply do not know them.
_TRADITIONAL = str.maketrans(
    "滿還與個沒麼樣這說決處幾讓對點為爲問題來錯謝應該過們給續記經驗門電話號"
    "鬆亂髒礙務業區縣鄉鎮車費報導環衛醫師學員會議辦嗎呢啥麼誰當時間後雖邊條"
    "寫聽聲響見覺還讚壞糟慢滿達較買賣難進選擇項號壹貳叁",
    "满还与个没么样这说决处几让对点为为问题来错谢应该过们给续记经验门电话号"
    "松乱脏碍务业区县乡镇车费报导环卫医师学员会议办吗呢啥么谁当时间后虽边条"
    "写听声响见觉还赞坏糟慢满达较买卖难进选择项号壹贰叁",
)

_WHITESPACE = re.compile(r"\s+")


_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]")


def strip_accents(text: str) -> str:
    """Drop tone marks and accents, so pinyin "mǎnyì" reads as "manyi"."""
    return unicodedata.normalize(
        "NFC", _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    )


def normalise(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, simplified characters, no tone marks,
    runs of whitespace collapsed to one space and trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_accents(text).lower().translate(_TRADITIONAL)
    return _WHITESPACE.sub(" ", text).strip()


_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
# A space with a Chinese character on either side separates recogniser words, not words
# of a Latin-script phrase.
_SPACE_BY_CJK = re.compile(f"(?<=[{_CJK}]) | (?=[{_CJK}])")


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (the Chinese characters we care about)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF


def join_cjk_words(text: str) -> str:
    """Remove spaces next to Chinese characters ("不 满意" → "不满意"), keeping the
    spaces that separate Latin words ("not satisfied")."""
    return _SPACE_BY_CJK.sub("", text)
