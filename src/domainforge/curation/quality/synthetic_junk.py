"""Synthetic junk documents in Chinese and English, built around real text.

Two uses: negatives for the fastText quality classifier (so it learns what junk looks like in
the domain's own vocabulary) and planted junk for measuring the heuristic filters
(benchmarks/). Each kind imitates a failure seen in crawled or scanned corpora; the words and
sentences come from `seed_texts` (real documents) so the junk cannot be caught by vocabulary
alone.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable

from domainforge.unicode_scripts import HAN_RANGES

KINDS = (
    "boilerplate",
    "nav_menu",
    "repeated_lines",
    "gibberish",
    "symbol_spam",
    "seo_keywords",
    "spam_ads",
    "code",
    "digit_table",
)

# A sentence can only start where a run of non-terminators starts (a match starting later in the
# run would end at the same place): the lookbehind says so, and keeps a long line without a
# terminator linear instead of quadratic in its length.
_ZH_SENTENCE_RE = re.compile(r"(?<![^。！？\n])[^。！？\n]{6,}[。！？]")
_EN_SENTENCE_RE = re.compile(r"[A-Z][^.!?\n]{20,}[.!?]")
_HAN_RUN_RE = re.compile(f"[{HAN_RANGES}]{{2,}}")
_NON_HAN_RE = re.compile(f"[^{HAN_RANGES}]+")
_EN_WORD_RE = re.compile(r"[A-Za-z]{3,}")

_BOILERPLATE = {
    "zh": [
        "版权所有 © {year} {site} 保留所有权利",
        "{prov}ICP备{num}号-1 | {prov}公网安备 {num}号",
        "免责声明：本站内容仅供参考，不作为诊断及医疗依据",
        "联系我们 | 关于我们 | 隐私政策 | 使用条款 | 网站地图",
        "本站部分文章来源于网络，如有侵权请联系删除",
        "扫一扫关注我们的微信公众号",
        "上一篇：{phrase}",
        "下一篇：{phrase}",
        "点击这里查看更多{phrase}",
        "责任编辑：{name}  来源：{site}",
        "返回首页 | 返回顶部",
        "分享到：微信 微博 QQ空间",
    ],
    "en": [
        "Copyright © {year} {site}. All rights reserved.",
        "Privacy Policy | Terms of Use | Cookie Policy | Contact Us | Sitemap",
        "This website uses cookies to improve your experience. Accept",
        "Subscribe to our newsletter",
        "Click here to read more about {phrase}",
        "Previous article: {phrase}",
        "Next article: {phrase}",
        "Share on Facebook | Tweet | Pin it | Email",
        "Home > Health > {phrase}",
        "Powered by WordPress | Theme by {site}",
        "Log in | Register | Forgot password?",
        "Back to top",
    ],
}
_NAV = {
    "zh": ["首页", "新闻中心", "疾病百科", "症状查询", "找医生", "找医院", "健康资讯", "药品大全", "在线咨询",
           "专家团队", "会员登录", "免费注册", "更多", "帮助中心", "网站导航", "健康问答", "视频"],
    "en": ["Home", "About", "Services", "Health A-Z", "Find a Doctor", "Locations", "News", "Blog", "Contact",
           "Careers", "Donate", "Login", "Sign up", "Search", "FAQ", "Shop", "Resources", "Patients"],
}
_SPAM = {
    "zh": ["澳门博彩", "网上赌场", "真人荷官", "六合彩", "时时彩", "棋牌游戏", "成人视频", "裸聊", "代开发票",
           "一夜情", "赌博网站", "百家乐", "老虎机", "免费领取", "注册送彩金"],
    "en": ["casino", "online poker", "free spins", "viagra", "cialis", "payday loans", "bitcoin doubler",
           "xxx", "hot singles", "replica watches", "cheap pills", "win big", "adult videos"],
}
_SYMBOLS = "★☆◆◇■□●○▲△▼▽※→←↑↓♥♦♣♠✓✔✘☎✉@#$%&*=+~^|<>【】《》￥"
_CODE = [
    "<script>var _hmt = _hmt || [];(function() {{ var hm = document.createElement(\"script\"); hm.src = \"https://{site}/hm.js?{num}\"; }})();</script>",
    "function {name}(e){{if(!e)return false;var t=document.getElementById(\"{name}\");t.style.display=\"none\";}}",
    "div.{name} {{ margin: 0 auto; padding: {num}px; font-size: 14px; color: #333; }}",
    "window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}} gtag('js', new Date());",
    "<div class=\"{name}\"><a href=\"/{name}/{num}.html\" target=\"_blank\">{phrase}</a></div>",
    "$(document).ready(function(){{ $(\".{name}\").click(function(){{ $(this).toggle(); }}); }});",
]


class _Vocabulary:
    """Sentences and words borrowed from real text, with fixed fallbacks when none is given."""

    def __init__(self, lang: str, seed_texts: list[str]):
        text = "\n".join(seed_texts)
        if lang == "zh":
            self.sentences = _ZH_SENTENCE_RE.findall(text) or ["患者出现发热、咳嗽等症状，应及时就医。"]
            self.words = _shared([run[:4] for run in _HAN_RUN_RE.findall(t)] for t in seed_texts) or ["发热", "咳嗽", "治疗", "医院"]
            # One string of the Han characters in order, not a list of one-character strings: the
            # same `rng.choice` draws, but ~2 bytes a character instead of ~80 (a 100,000-document
            # training sample took 3 GB here for this list alone).
            self.chars = _NON_HAN_RE.sub("", text) or "病毒感染治疗发热医生"
        else:
            self.sentences = _EN_SENTENCE_RE.findall(text) or ["Patients with fever should see a doctor promptly."]
            # The words hold ASCII letters only: one lower() of their joined string lowers them all.
            words = (" ".join(found).lower().split() for found in map(_EN_WORD_RE.findall, seed_texts))
            self.words = _shared(words) or ["fever", "cough", "treatment", "doctor"]
            self.chars = "abcdefghijklmnopqrstuvwxyz"


def _shared(texts_words: Iterable[list[str]]) -> list[str]:
    """The words of every text in order, each distinct word one object: the list keeps every
    occurrence (the draws stay frequency-weighted and the same), the memory only the vocabulary.
    A text's words come as one list (no match crosses a text's end), interned in one C-level map."""
    seen: dict[str, str] = {}
    shared: list[str] = []
    for words in texts_words:
        shared += map(seen.setdefault, words, words)
    return shared


def _fill(template: str, rng: random.Random, vocab: _Vocabulary, lang: str) -> str:
    return template.format(
        year=rng.randint(2005, 2025),
        site=rng.choice(["healthnet", "yiyao123", "med-info", "jiankang", "doctorhub"]) + rng.choice([".com", ".cn", ".net"]),
        prov=rng.choice("京沪粤浙苏川鄂湘"),
        num=rng.randint(10000000, 99999999),
        name=rng.choice(vocab.words) if lang == "zh" else rng.choice(["nav", "menu", "popup", "banner", "footer"]),
        phrase=rng.choice(vocab.words) + (rng.choice(vocab.words) if lang == "zh" else " " + rng.choice(vocab.words)),
    )


def _boilerplate(rng, vocab, lang):
    lines = rng.sample(_BOILERPLATE[lang], rng.randint(3, 8))
    return "\n".join(_fill(line, rng, vocab, lang) for line in lines)


def _nav_menu(rng, vocab, lang):
    items = rng.sample(_NAV[lang], rng.randint(5, 12)) + [rng.choice(vocab.words) for _ in range(rng.randint(0, 6))]
    rng.shuffle(items)
    return rng.choice(["\n", " | ", "  ", " > ", " · "]).join(items)


def _repeated_lines(rng, vocab, lang):
    unique = [rng.choice(vocab.sentences) for _ in range(rng.randint(1, 3))]
    repeated = [rng.choice(unique) for _ in range(rng.randint(6, 20))]
    return rng.choice(["\n", "\n\n", "" if lang == "zh" else " "]).join(repeated)


def _gibberish(rng, vocab, lang):
    if lang == "zh":
        if rng.random() < 0.3:  # mojibake from a GBK/UTF-8 mix-up
            return "".join(rng.choice(["锟斤拷", "烫烫烫", "屯屯屯", "�", "��"]) for _ in range(rng.randint(10, 60)))
        pieces = ["".join(rng.choice(vocab.chars) for _ in range(rng.randint(3, 12))) for _ in range(rng.randint(8, 40))]
        return rng.choice(["", " ", "\n"]).join(pieces)
    words = ["".join(rng.choice(vocab.chars) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(30, 150))]
    return " ".join(words)


def _symbol_spam(rng, vocab, lang):
    lines = []
    for _ in range(rng.randint(2, 8)):
        symbols = "".join(rng.choice(_SYMBOLS) for _ in range(rng.randint(4, 16)))
        word = rng.choice(vocab.words)
        lines.append(f"{symbols}{word}{symbols[::-1]}" if rng.random() < 0.5 else f"{symbols} {word} {symbols}")
    return "\n".join(lines)


def _seo_keywords(rng, vocab, lang):
    target = rng.choice(vocab.words)
    affixes = (["治疗", "偏方", "怎么办", "吃什么", "医院", "多少钱", "能治好吗", "症状", "最好的", "哪家好"]
               if lang == "zh" else ["best", "cheap", "cure", "treatment", "near me", "online", "fast", "natural", "2024"])
    keywords = []
    for _ in range(rng.randint(15, 60)):
        if rng.random() < 0.6:
            affix = rng.choice(affixes)
            keywords.append(target + affix if lang == "zh" else f"{affix} {target}")
        else:
            keywords.append(rng.choice(vocab.words))
    return rng.choice([" ", ",", "，", " | ", "\n", "、"] if lang == "zh" else [" ", ", ", " | ", "\n"]).join(keywords)


def _spam_ads(rng, vocab, lang):
    spam = [rng.choice(_SPAM[lang]) for _ in range(rng.randint(6, 20))]
    filler = [rng.choice(vocab.words) for _ in range(rng.randint(0, 6))]
    items = spam + filler
    rng.shuffle(items)
    exclaim = "！" if lang == "zh" else "! "
    return exclaim.join(items) + exclaim


def _code(rng, vocab, lang):
    return "\n".join(_fill(rng.choice(_CODE), rng, vocab, lang) for _ in range(rng.randint(2, 6)))


def _digit_table(rng, vocab, lang):
    rows = []
    for _ in range(rng.randint(5, 20)):
        cells = [str(rng.randint(0, 99999)) for _ in range(rng.randint(3, 8))]
        if rng.random() < 0.5:
            cells.insert(0, rng.choice(vocab.words))
        rows.append(rng.choice(["\t", " ", " | "]).join(cells))
    return "\n".join(rows)


_MAKERS = {kind: globals()[f"_{kind}"] for kind in KINDS}


def make_junk(n: int, lang: str, seed: int, seed_texts: list[str] | tuple = (), kinds=KINDS) -> list[dict]:
    """`n` junk documents in `lang` ("zh" or "en"), kinds cycled evenly: dicts of kind, lang, text."""
    if lang not in _BOILERPLATE:
        raise ValueError(f"junk can be made in zh or en, not {lang!r}")
    rng = random.Random(seed)
    vocab = _Vocabulary(lang, list(seed_texts))
    return [{"kind": kind, "lang": lang, "text": _MAKERS[kind](rng, vocab, lang)} for kind in (kinds[i % len(kinds)] for i in range(n))]
