"""Constructed multiple-choice questions (2 to 5 options, Chinese and English) for the
evaluation tests; the shape of `domainforge.evaluation`'s records."""

ZH = [
    {"question": "女性生殖腺是", "options": {"A": "卵巢", "B": "前庭大腺", "C": "前庭球", "D": "乳腺"}, "answer": "A"},
    {"question": "发热最常见的原因是", "options": {"A": "感染", "B": "肿瘤"}, "answer": "A"},
    {"question": "治疗高血压的药物是", "options": {"A": "阿司匹林", "B": "硝苯地平", "C": "青霉素"}, "answer": "B"},
    {"question": "属于蝶骨上的结构为", "options": {"A": "棘孔", "B": "乳突", "C": "鸡冠", "D": "枕骨大孔", "E": "颏孔"}, "answer": "A"},
]
EN = [
    {"question": "Which organ produces insulin?", "options": {"A": "liver", "B": "pancreas", "C": "spleen", "D": "kidney"}, "answer": "B"},
    {"question": "Fever is most often caused by", "options": {"A": "infection", "B": "sunlight"}, "answer": "A"},
    {"question": "The heart has how many chambers?", "options": {"A": "two", "B": "three", "C": "four"}, "answer": "C"},
]
