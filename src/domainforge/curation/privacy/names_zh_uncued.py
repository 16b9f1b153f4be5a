"""Chinese person names with no cue around them ("谢伟今天来复查了", "昨天詹瑜说胸闷", "我和周明一起去").

Cheap filters run before jieba: a common surname followed by a character common in given names,
at a clause start or after a word that often comes before a name (和, 让, 昨天, 我朋友, a verb such as
转告); no ordinary dictionary word starting there (高血压, 黄疸, 杨梅). Only the few positions left
are cut by jieba, whose tokens must end exactly where the name ends and be tagged as a name or be
unknown to its dictionary. Herbal and drug names that look like names (郁金, 安博维) still slip through.
"""
from __future__ import annotations

import re

from domainforge.curation.privacy.names_zh import (
    COMMON_WORD_FREQUENCY,
    COMPOUND_SURNAMES,
    FUNCTION_SURNAMES,
    GIVEN_NAME_FLAGS,
    NAME_FLAGS,
    NEVER_SURNAME_FLAGS,
    SURNAMES,
    frequency,
    tagged_words,
    word_flag,
)
from domainforge.curation.privacy.types import PiiSpan
from domainforge.unicode_scripts import HAN_RE

# Characters common in Chinese given names, male- and female-typical, of every generation.
GIVEN_NAME_CHARS = frozenset(
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢佳阳亮成建峰晨瑞志兵雷东博彬坤岩杨文利楠"
    "国民新海江山川永胜德福生祥正光宏忠义仁庆喜贵富昌盛兴旺安康泰顺达发武学松柏清泉森树立振家世长宝鸿昊"
    "皓轩泽睿梓豪奇锋毅钢庭廷彦晖炜玮琦骏驰腾航翔鹤权威良友才栋梁虎彪锦涵铭诚信聪哲逸煜晟晗弘恒贤君伦卫"
    "红跃进援朝勤俭耀坚钧斐敬凡尧汉伯仲云雨风雪冰洪源溪宾远征晋嘉策政治全维铮金银玉石岭峻崇岳洋诺"
    "芳娜秀英敏静丽艳娟霞兰桂梅燕婷玲倩颖慧晶莉琴莹微洁蕾淑珍凤荣翠春芬芝雅婧思怡欣悦诗梦萱琪璐瑶佩妍"
    "媛蓉菲薇露彤月星灿亚珊丹秋冬青虹捷萍琳香花美娇婉娴妮娅婕嫣岚茜茹蓓蕊芸芷若菁柔贞惠蕙竹菊荷莲"
    "桃樱枫柳卉芹萌乐畅瑜瑾璇环琼瑛彩晓可馨雯艺依伊巧莎娥姗宜如玫丫娣小"
)
# Surnames that start common words far more often than names at a clause start (祝健康, 5项全阳性,
# 双环醇, 水飞蓟素, 易消化), on top of the function-word surnames.
_UNCUED_NOT_SURNAMES = frozenset("祝项双水易")
_SURNAME_CLASS = "".join(sorted(SURNAMES - FUNCTION_SURNAMES - _UNCUED_NOT_SURNAMES))
# A surname followed by a given-name character; the match covers the surname only, so a surname
# inside a name (龙桂荣) is looked at again and rejected by its left neighbour. Two patterns, as
# one alternation of both would lose the regex engine's fast skip to candidate characters.
_GIVEN_CLASS = "".join(sorted(GIVEN_NAME_CHARS))
_SINGLE_SURNAME = re.compile(f"[{_SURNAME_CLASS}](?=[{_GIVEN_CLASS}])")
_COMPOUND_SURNAME = re.compile("(?:" + "|".join(COMPOUND_SURNAMES) + f")(?=[{_GIVEN_CLASS}])")
# What may come right before a name: a non-Han character (punctuation, start of text), or one of
# these words.
_PRECEDING_CHARS = frozenset("和与跟同让请给叫找问被把对帮陪带是由及或替说")
_PRECEDING_WORDS = frozenset(
    "昨天 今天 明天 前天 当时 后来 然后 刚才 之前 感谢 谢谢 告诉 通知 提醒 嘱咐 陪同 联系 还有 以及 "
    "妈妈 爸爸 母亲 父亲 老公 老婆 丈夫 妻子 爱人 儿子 女儿 孩子 哥哥 姐姐 弟弟 妹妹 爷爷 奶奶 外婆 "
    "朋友 同事 同学 邻居 室友 患者 病人 患儿 家属 医生 护士 大夫 主任".split()
)
# ... or a two-character verb, preposition, conjunction or time word (转告, 关于, 并且, 上午).
_PRECEDING_FLAGS = frozenset("v p c t".split())
_HAN = HAN_RE
# A number or a dash before a surname makes it a measure word or part of a term (第3周达高峰,
# 吉兰－巴雷综合征), not a name.
_NOT_BOUNDARY = frozenset("0123456789０１２３４５６７８９-－—_./")
# Word classes no part of a name has: prepositions, conjunctions, pronouns, adverbs, verbs, particles.
_NOT_IN_NAME_FLAGS = frozenset("p c u y e o uj ul uz ug ud uv r d v".split())
_NOT_GIVEN_NAMES = frozenset(["宝宝"])  # 怀/宝宝 (pregnant) is no name
_UNKNOWN_WORD_FREQUENCY = 10  # jieba's dictionary lists a few names and rare words below this


def _after_boundary(text: str, position: int) -> bool:
    if position == 0:
        return True
    before = text[position - 1]
    if not _HAN.match(before):
        return before not in _NOT_BOUNDARY
    if frequency(before + text[position]) >= COMMON_WORD_FREQUENCY:
        return False  # the surname ends a word (对方, 还有)
    two = text[max(0, position - 2):position]
    return before in _PRECEDING_CHARS or two in _PRECEDING_WORDS or word_flag(two) in _PRECEDING_FLAGS


def _starts_common_word(text: str, position: int) -> bool:
    """高血压, 黄疸, 杨梅: an ordinary dictionary word starts at the surname. A 3-character word jieba
    tags as a person name (王玉珍) is a well-known name, still a name."""
    three = text[position:position + 3]
    return (
        frequency(text[position:position + 2]) >= COMMON_WORD_FREQUENCY
        or (frequency(three) >= COMMON_WORD_FREQUENCY and word_flag(three) not in NAME_FLAGS)
        or frequency(text[position:position + 4]) >= COMMON_WORD_FREQUENCY
    )


def _confirmed_length(cut: tuple[tuple[str, str], ...], candidate: str, surname_length: int) -> int:
    """Length of the name jieba confirms at the start of `candidate` (surname + given-name
    characters), or 0. Its tokens must end where the name ends."""
    word, flag = cut[0]
    if word.endswith("的") and candidate.startswith(word[:-1]) and len(word) - 1 > surname_length and flag in NAME_FLAGS:
        return len(word) - 1  # jieba glued 的 to the name (张平的/nrfg)
    if surname_length < len(word) <= len(candidate) and candidate.startswith(word):
        if flag in NAME_FLAGS and (len(word) > 2 or frequency(word) < _UNKNOWN_WORD_FREQUENCY):
            return len(word)  # a 2-character word listed in the dictionary (屈光, 麦冬) is no name here
        rest, rest_flag = cut[1] if len(cut) > 1 else ("", "x")
        cut_in_two = len(word) == surname_length + 1 and candidate == word + rest
        if cut_in_two and flag not in _NOT_IN_NAME_FLAGS and rest_flag not in _NOT_IN_NAME_FLAGS:
            return len(candidate)  # a rare given name cut in the middle: 杨淑/n 华/ns
        if flag not in _NOT_IN_NAME_FLAGS and frequency(word) < _UNKNOWN_WORD_FREQUENCY:
            return len(word)  # a word jieba does not know (何坤/n, 秦东/ns)
        return 0
    if len(word) == surname_length and flag not in NEVER_SURNAME_FLAGS and len(cut) > 1:
        given, given_flag = cut[1]
        if given in _NOT_GIVEN_NAMES:
            return 0
        if candidate[surname_length:].startswith(given) and (given_flag in NAME_FLAGS or given_flag in GIVEN_NAME_FLAGS):
            return surname_length + len(given)  # 唐/nr 建华/nz, 许/m 婷婷/z
    return 0


def _surnames(text: str) -> list[tuple[int, int]]:
    """(start, end) of each surname followed by a given-name character (欧阳 rather than 欧)."""
    compound = [match.span() for match in _COMPOUND_SURNAME.finditer(text)]
    starts = {start for start, _ in compound}
    return compound + [match.span() for match in _SINGLE_SURNAME.finditer(text) if match.start() not in starts]


def find_uncued_chinese_names(text: str) -> list[PiiSpan]:
    spans = []
    for start, given_start in _surnames(text):
        if not _after_boundary(text, start) or _starts_common_word(text, start):
            continue
        end = given_start
        while end < len(text) and end - given_start < 2 and text[end] in GIVEN_NAME_CHARS:
            end += 1
        candidate = text[start:end]
        length = _confirmed_length(tagged_words(text[start:end + 3]), candidate, given_start - start)
        if length:
            spans.append(PiiSpan(start, start + length, "name"))
    return spans
