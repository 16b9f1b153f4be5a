"""Language-aware word tokens for BM25 and keyword extraction: jieba for Chinese runs, a regex
plus a light plural stemmer for Latin-script words, stopwords removed."""
from __future__ import annotations

import logging
import re
from functools import cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A run of CJK characters, or a Latin/digit word (hyphens and apostrophes inside words kept).
_SEGMENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+(?:['’-][^\W_]+)*")

ENGLISH_STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can cannot could did do does doing don't down during each few
    for from further had has have having he her here hers herself him himself his how i if in into
    is isn't it it's its itself let's me more most my myself no nor not of off on once only or other
    ought our ours ourselves out over own same she should so some such than that that's the their
    theirs them themselves then there there's these they this those through to too under until up
    very was wasn't we were what what's when where which while who whom why will with would you your
    yours yourself yourselves also may might must shall s t us get gets got getting one""".split()
)

# Function words and the politeness formulae of patient questions; content words stay even when
# frequent (BM25's idf and the keyword weights already discount those).
CHINESE_STOPWORDS = frozenset(
    """的 了 着 过 是 我 你 您 他 她 它 我们 你们 他们 她们 吗 呢 吧 啊 呀 哦 嗯 和 与 及 或 或者 在 有 也
    就 都 而 又 还 很 太 最 更 到 对 把 被 让 给 从 为 以 于 等 但 但是 因为 所以 如果 就是 这 那 这个 那个 这样
    那样 这些 那些 什么 怎么 怎样 怎么样 如何 为什么 哪些 哪 多少 一个 一些 一下 一点 请问 您好 你好 谢谢 麻烦
    医生 大夫 可以 能 会 要 想 应该 需要 是否 没有 不 之 其 该 此 个 些 下 上 中 里 后 前 时 时候 现在 最近
    自己 已经 问题 情况 谢谢您 帮忙 咨询 进行""".split()
)


@cache
def load_jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def stem(word: str) -> str:
    """Harman's S-stemmer: folds English plurals (diseases -> disease) and nothing else."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased content tokens. Chinese runs are cut by jieba's search mode (which also emits
    the shorter words inside long ones, so 高血压 matches 血压); English words are stemmed;
    stopwords are dropped."""
    tokens: list[str] = []
    for match in _SEGMENT.finditer(text.lower()):
        piece = match.group()
        if _CJK.match(piece):
            tokens.extend(w for w in load_jieba().lcut_for_search(piece) if w not in CHINESE_STOPWORDS)
        elif piece not in ENGLISH_STOPWORDS:
            tokens.append(stem(piece))
    return tokens


def latin_words(text: str) -> list[str]:
    """Lower-cased non-stopword Latin-script words as written (keywords are embedded unstemmed)."""
    return [
        w for w in (m.group() for m in _SEGMENT.finditer(text.lower())) if not _CJK.match(w) and w not in ENGLISH_STOPWORDS
    ]
