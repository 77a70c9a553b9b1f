"""Synthetic labelled requests for tests and demos (no real citizen data ships with us).

Each category has its own topic words and shares the same sentence frames and filler,
so a classifier must learn the topic words, not the frames. Deterministic for a seed.
"""

from __future__ import annotations

import random

from hotline.asr.dispatch_data import LabelledText

TOPICS: dict[str, tuple[str, ...]] = {
    "roads": ("路灯不亮", "路面坑洼", "井盖丢失", "红绿灯坏了", "人行道被占", "公交站牌倒了"),
    "noise": ("广场舞噪音", "工地夜间施工", "酒吧音响太吵", "装修噪音", "货车鸣笛扰民"),
    "wages": ("拖欠工资", "不签劳动合同", "社保没有缴纳", "加班费不给", "工伤不认定"),
    "schools": ("学校乱收费", "入学划片不合理", "校车超载", "教师体罚学生", "课外补习收费"),
}
PLACES = ("A市", "B区", "幸福小区", "人民路", "火车站附近", "开发区", "老城区")
FRAMES = (
    "{place}{topic}，请尽快处理",
    "我要反映{place}的问题：{topic}，已经很久了",
    "你好，{place}最近{topic}，希望有关部门管一管",
    "投诉{topic}，地点在{place}，谢谢",
    "{topic}的问题在{place}一直没人解决",
)


def synthetic_requests(per_label: int = 30, seed: int = 0) -> list[LabelledText]:
    rng = random.Random(seed)
    rows = []
    for label, topics in TOPICS.items():
        for _ in range(per_label):
            text = rng.choice(FRAMES).format(place=rng.choice(PLACES), topic=rng.choice(topics))
            rows.append(LabelledText(text, label))
    rng.shuffle(rows)
    return rows
