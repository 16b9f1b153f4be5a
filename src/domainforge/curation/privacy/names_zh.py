"""Chinese person names next to patient/doctor cues (患者王某某, 张医生, 李女士, 姓名：刘丽华,
王建国，男，45岁), confirmed by jieba's part-of-speech tags and dictionary frequencies.

jieba only runs on a few characters around a cue whose neighbour is a surname, so its cost stays
small; text with no cue never reaches it.
"""
from __future__ import annotations

import logging
import re
from functools import lru_cache

from domainforge.curation.privacy.types import PiiSpan
from domainforge.unicode_scripts import HAN_RUN_RE

# Single-character surnames: the Hundred Family Surnames plus the common modern ones.
SURNAMES = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎"
    "鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄"
    "和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭"
    "梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚"
    "程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫"
    "宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻"
    "莘党翟谭贡劳逄姬申扶堵冉宰郦雍璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古"
    "易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋"
    "沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公闫覃付仝冼邝植练粟禤佟谌揭母兰卿战宾区楼银鲜麦檀豆衣"
    "奉丛岳冶来海邸亓阿帅普信门敬玉赫迟漆亢辜栗但苟佘官晋展闭哈阳牟隋芦南盘鹿位原商朴尧呼苑修斯涂况鄢"
    "智由楚尉初肖"
)
COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 司徒 夏侯 宇文 长孙 端木 轩辕 西门 南宫 独孤 申屠 "
    "万俟 闻人 赫连 澹台 公冶 宗政 濮阳 淳于 单于 太叔 仲孙 钟离 鲜于 闾丘 司空 呼延 拓跋 百里 东郭 左丘"
).split()
# Surnames that are far more often function words ("向医生咨询" = "ask the doctor"): as a lone
# character before a cue, or in X某 without a cue, they are not taken as a name.
FUNCTION_SURNAMES = frozenset("向和同由从于那有将时能都连通相后来位原区门家经解单别国公信应初但空全万平明成计须查益普智阳文广元终居步满东养红游盖利越隆融简毋丰海南呼斯修展战商官晋玉阿哈尧朴鹿盘闭敬")
NAME_FLAGS = ("nr", "nrfg", "nrt")
# jieba's dictionary tags some everyday words nr (康复 1018, 麻醉 264, 安静 1199); the names it
# lists are rare words (王建国 12, 高洋 8).
COMMON_WORD_FREQUENCY = 50
_NOT_NAME_FLAGS = frozenset("p c r d u v m f t y e o uj ul uz ug ud uv ad an vn".split())
NEVER_SURNAME_FLAGS = frozenset("p c u y e o uj ul uz ug ud uv".split())
GIVEN_NAME_FLAGS = frozenset("nz ns n ng nt z t b j a".split())
_NOT_IN_GIVEN_NAMES = frozenset("您你我他她它们的了是在和与及或也就都而但并从于对向把被让给很更最已不没无吗呢吧啊呀么这那个")
# Characters that often come right before a name ("请张伟大夫会诊", "和李娜医生").
_NAME_PRECEDERS = frozenset("请让找问是的给和跟与被由对向及、把叫称位")

_HAN = HAN_RUN_RE
_SURNAME_CLASS = "".join(sorted(SURNAMES))
_ZH_PREFIX_CUE = re.compile(
    r"(患者|病人|患儿|病患|伤者|产妇|孕妇|家属|姓名|联系人|监护人|主治医师|主治医生|主管医生|主管医师|"
    r"经治医生|接诊医生|责任护士|责任医生|主诊医生|签名|签字人|记录人|我叫|叫做|名叫|名字是|名字叫|我是|本人)[:：]?\s?"
)
# Cues often followed by other words than a name (患者高热, 家属同意, 我是高血压患者, 本人男); the
# rest are labels.
_WEAK_PREFIX_CUES = frozenset("患者 病人 患儿 病患 伤者 产妇 孕妇 家属 我是 本人".split())
_ZH_SUFFIX_CUE = re.compile(
    r"(?:医生|大夫|医师|主任|教授|护士长|护士|先生|女士|小姐|老师|同学|阿姨|叔叔|院长|博士|奶奶|爷爷|大爷|大妈|大姐|大哥|师傅)"
)
_ZH_GENDER_AGE = re.compile(r"[，,、\s](?:男|女)性?[，,、\s]*\d{1,3}(?:岁|周岁)")
# 王某 / 王某某 / 欧阳某: a name already pseudonymised by convention (still a name to tag).
_ZH_MOU = re.compile(
    "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{_SURNAME_CLASS}])某某?(?![某些种个天日时处地次项类部段位件方年月一人])"
)


@lru_cache(maxsize=1)
def jieba_module():
    """jieba, loaded on first use (its dictionary takes about a second to load)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=8192)
def tagged_words(fragment: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and part-of-speech tags; cached, as cue contexts repeat (咨询医生, 患者高血压)."""
    return tuple((pair.word, pair.flag) for pair in jieba_module().posseg.cut(fragment))


def frequency(word: str) -> int:
    return jieba_module().dt.FREQ.get(word) or 0


def word_flag(word: str) -> str | None:
    """The part-of-speech tag jieba's dictionary gives `word` (None if not listed)."""
    return jieba_module().posseg.dt.word_tag_tab.get(word)


def _surname_prefix(word: str) -> bool:
    return word[:2] in COMPOUND_SURNAMES or word[:1] in SURNAMES


def _plausible_given(given: str) -> bool:
    """Han characters only, no 某 (a pseudonym), and no pronoun or particle (祝您 is no name)."""
    return bool(_HAN.fullmatch(given)) and "某" not in given and not any(c in _NOT_IN_GIVEN_NAMES for c in given)


def _plausible(name: str) -> bool:
    return bool(_HAN.fullmatch(name[:1])) and _plausible_given(name[1:])


def _looks_like_name(word: str, flag: str) -> bool:
    """A 2-4 character token starting with a surname that is rare or absent in jieba's dictionary
    (康复 and 麻醉 are common words its dictionary tags nr), does not start with a common word
    (糜烂性/nr), and is not a function word or verb."""
    if not 2 <= len(word) <= 4 or not _surname_prefix(word) or not _plausible(word):
        return False
    if len(word) > 2 and frequency(word[:2]) >= COMMON_WORD_FREQUENCY:
        return False
    if word[0] in FUNCTION_SURNAMES and word[:2] not in COMPOUND_SURNAMES:
        return False
    if flag not in NAME_FLAGS and (len(word) > 3 or flag in _NOT_NAME_FLAGS):
        return False  # an unknown 4-character word (植物神经) is not a name unless jieba says so
    return frequency(word) < COMMON_WORD_FREQUENCY


def _strip_cue(word: str) -> str:
    for cue in ("女士", "先生", "小姐", "医生", "大夫"):
        if word.endswith(cue) and len(word) > len(cue):
            return word[: -len(cue)]  # jieba sometimes keeps 李女士 as one token
    return word


def _is_surname(word: str) -> bool:
    return word in SURNAMES or word in COMPOUND_SURNAMES


def _split_name(surname_flag: str, given: str, given_flag: str) -> bool:
    """Whether a surname token followed by `given` is a name jieba cut in two (王 / 秀英, 段 / 海燕).
    Common given names are dictionary words (红梅, 建国), so frequency is no guide here; the tags
    are: a person-name tag on the given part, or no function-word/verb tag on either part."""
    if not 1 <= len(given) <= 2 or not _plausible_given(given) or surname_flag in NEVER_SURNAME_FLAGS:
        return False
    return given_flag in NAME_FLAGS or (surname_flag not in _NOT_NAME_FLAGS and given_flag in GIVEN_NAME_FLAGS)


def _name_after(text: str, position: int, strong: bool) -> int:
    """Length of the Chinese name starting at `position` (after a prefix cue), or 0. After a
    strong cue (姓名：, 我叫) a short Han run is taken as the name whatever jieba says."""
    if text[position:position + 1] not in SURNAMES and text[position:position + 2] not in COMPOUND_SURNAMES:
        return 0
    run = _HAN.match(text, position, position + 5)
    if strong and run and 2 <= len(run.group()) <= 4 and _plausible(run.group()) and frequency(run.group()[:2]) < COMMON_WORD_FREQUENCY:
        return len(run.group())  # 姓名：刘丽华， (but not 主治医生商量一下)
    tokens = tagged_words(text[position:position + 8])
    word, flag = tokens[0]
    stripped = _strip_cue(word)
    if stripped != word and 1 <= len(stripped) <= 3 and _surname_prefix(stripped):
        return len(stripped)
    if _looks_like_name(word, flag) or (strong and flag in NAME_FLAGS and 2 <= len(word) <= 4 and _surname_prefix(word) and _plausible(word)):
        return len(word)
    if _is_surname(word) and len(tokens) > 1 and _split_name(flag, *tokens[1]):
        return len(word) + len(tokens[1][0])
    return 0


def _name_before(text: str, position: int, cue_length: int, *, allow_single: bool) -> int:
    """Start of the Chinese name that ends at `position` (where a cue of `cue_length` starts), or -1."""
    start = max(0, position - 5)
    if not any(c in SURNAMES for c in text[start:position]):
        return -1
    offset, previous = start, ("", "")
    for word, flag in tagged_words(text[start:position + cue_length]):
        end = offset + len(word)
        if end == position:
            break
        if offset < position < end:
            # jieba merged the name with its cue (李女士/nr): the name is the part before the cue,
            # unless the merged word is an ordinary one (家庭医生/n).
            name = text[offset:position]
            merged_ok = flag in NAME_FLAGS or (name[0] not in FUNCTION_SURNAMES and frequency(name) < COMMON_WORD_FREQUENCY)
            return offset if end == position + cue_length and 1 <= len(name) <= 3 and _surname_prefix(name) \
                and "某" not in name and merged_ok else -1
        previous = (word, flag)
        offset = end
    else:
        return -1
    if "某" in word or "某" in previous[0]:
        return -1
    if _looks_like_name(word, flag):
        return offset
    if previous[0] and _is_surname(previous[0]) and _split_name(previous[1], word, flag):
        return offset - len(previous[0])  # 秦 / 建平 医生
    if allow_single and _is_surname(word) and word not in FUNCTION_SURNAMES and flag not in _NOT_NAME_FLAGS:
        return offset  # 张 医生
    return -1


def _name_after_preceder(text: str, position: int) -> int:
    """Start of a 2-3 character name before a cue when jieba has glued it to the cue or to the
    word before ("请/张/伟大/夫"): the name must follow a boundary or a word like 请, 和, 找."""
    for length in (3, 2):
        start = position - length
        if start < 0:
            continue
        name = text[start:position]
        before = text[start - 1] if start else ""
        if (
            _plausible(name)
            and name[0] in SURNAMES
            and name[0] not in FUNCTION_SURNAMES
            and frequency(name) < COMMON_WORD_FREQUENCY
            and frequency(name[:2]) < COMMON_WORD_FREQUENCY
            and (length == 2 or frequency(name[1:]) < COMMON_WORD_FREQUENCY)
            and (not before or not _HAN.fullmatch(before) or before in _NAME_PRECEDERS)
            and not (len(tagged_words(name)) == 1 and tagged_words(name)[0][1] in _NOT_NAME_FLAGS)  # 管床/vn
        ):
            return start
    return -1


def _name_at_clause_start(text: str, position: int) -> int:
    """Start of a 2-4 character name that fills the clause ending at `position` (萧想，女，62岁)."""
    start = position
    while start > 0 and position - start < 4 and _HAN.fullmatch(text[start - 1]):
        start -= 1
    if start > 0 and _HAN.fullmatch(text[start - 1]):
        return -1  # more than four Han characters: a phrase, not a name
    name = text[start:position]
    if 2 <= len(name) <= 4 and _surname_prefix(name) and _plausible(name) and frequency(name) < COMMON_WORD_FREQUENCY:
        return start
    return -1


def find_chinese_names(text: str) -> list[PiiSpan]:
    spans = []
    for match in _ZH_MOU.finditer(text):
        surname = match.group().rstrip("某")
        cued = _ZH_PREFIX_CUE.search(text, max(0, match.start() - 6), match.start())
        if surname in FUNCTION_SURNAMES and not (cued and cued.end() == match.start()):
            continue
        spans.append(PiiSpan(match.start(), match.end(), "name", pseudonym=True))
    for match in _ZH_PREFIX_CUE.finditer(text):
        length = _name_after(text, match.end(), strong=match.group(1) not in _WEAK_PREFIX_CUES)
        if length:
            spans.append(PiiSpan(match.end(), match.end() + length, "name"))
    for match in _ZH_SUFFIX_CUE.finditer(text):
        start = _name_before(text, match.start(), match.end() - match.start(), allow_single=True)
        if start < 0:
            start = _name_after_preceder(text, match.start())
        if start >= 0:
            spans.append(PiiSpan(start, match.start(), "name"))
    for match in _ZH_GENDER_AGE.finditer(text):
        start = _name_before(text, match.start(), 1, allow_single=False)
        if start < 0:
            start = _name_at_clause_start(text, match.start())
        if start >= 0:
            spans.append(PiiSpan(start, match.start(), "name"))
    return spans
