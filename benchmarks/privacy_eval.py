"""Privacy scrubbing evaluation on the real shared corpora with planted PII.

Builds its own test set: real Chinese texts (medical dialogue CSV read as GB18030, fever.txt) and
English texts (MedQuAD answers), each with ONE planted PII value (Faker zh_CN / en_US, seeded, in
realistic Chinese or English contexts, glued and spaced, labelled and not) and planted must-keep
medical numbers and terms. Reports:
  - recall per PII type (a plant counts as caught when none of its identifying fragments is left),
  - keep-rate of the planted medical numbers/terms,
  - what the scrubber changes in the untouched original texts (an upper bound on false positives:
    some of those detections may be real PII in the corpora),
  - idempotence on every planted text, and chars/s of scrub_text (regex layer and full).
Writes benchmarks/results/privacy_eval.json.

    python benchmarks/privacy_eval.py [--shared-data ../shared/data] [--per-type 1000]
"""
from __future__ import annotations

import argparse
import html
import json
import random
import re
import string
import time
from collections import Counter, defaultdict
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
from faker import Faker
from harness import write_result

from domainforge.curation.privacy.names_zh import tagged_words
from domainforge.curation.privacy.scrub import Scrubber
from domainforge.curation.privacy.types import PII_TYPES
from domainforge.curation.privacy.validators import bank_card_valid, cn_id18_valid, luhn_valid

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"structured_recall": 0.995, "name_recall": 0.90, "keep_rate": 0.99, "regex_mb_per_s": 5.0}
STRUCTURED = [t for t in PII_TYPES if t not in ("name", "address")]


# --- real texts ------------------------------------------------------------------------------

def load_texts(shared: Path, limit: int, rng: random.Random) -> tuple[list[str], list[str]]:
    csv = pd.read_csv(shared / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030")
    zh = [str(t) for t in pd.concat([csv["ask"], csv["answer"]]).dropna() if len(str(t)) >= 20]
    zh += [line.strip() for line in (shared / "medicalgpt/pretrain/fever.txt").read_text("utf-8").splitlines() if len(line.strip()) >= 20]
    en = []
    for path in sorted((shared / "medquad").glob("*/*.xml")):
        for answer in ElementTree.parse(path).getroot().iter("Answer"):
            text = html.unescape((answer.text or "").strip())
            if len(text) >= 40:
                en.append(re.sub(r"[ \t]*\n[ \t]*", "\n", text))
    rng.shuffle(zh)
    rng.shuffle(en)
    return zh[:limit], en[:limit]


# --- planted PII -----------------------------------------------------------------------------

def fragments(value: str) -> list[str]:
    """Identifying pieces of a value: its runs of 4+ letters/digits, long runs cut into 6-character
    chunks (so a partly scrubbed number still counts as missed), or the whole value if none."""
    pieces = []
    for run in re.findall(r"[A-Za-z0-9]{4,}", value):
        chunks = [run[i:i + 6] for i in range(0, len(run), 6)]
        if len(chunks) > 1 and len(chunks[-1]) < 4:
            chunks[-2:] = [chunks[-2] + chunks[-1]]
        pieces += chunks
    return pieces or [value]


class Planter:
    """Generates one PII value in a context sentence: (kind, form, sentence, fragments)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.zh = Faker("zh_CN")
        self.zh.seed_instance(seed)
        self.en = Faker("en_US")
        self.en.seed_instance(seed + 1)

    def pick(self, options):
        return self.rng.choice(options)

    # each returns (form, value, zh_templates, en_templates, fragments)
    def id_card(self):
        v = self.zh.ssn()
        form = self.pick(["plain", "spaced", "legacy15", "lower_x"])
        if form == "spaced":
            v = f"{v[:6]} {v[6:14]} {v[14:]}"
        elif form == "legacy15":  # issued before 1999, so a 19xx birth year without its century
            while v[6:8] != "19":
                v = self.zh.ssn()
            v = v[:6] + v[8:17]
        elif form == "lower_x":
            while not v.endswith("X"):
                v = self.zh.ssn()
            v = v[:-1] + "x"
        zh = ["身份证号{v}", "身份证号码：{v}", "登记证件{v}已核验", "（{v}）", "证件 {v} 已登记"]
        en = ["Chinese ID {v} was recorded", "ID: {v}", "resident ID number {v}"]
        return form, v, zh, en, fragments(v)

    def phone(self):
        form = self.pick(["mobile", "mobile_dash", "mobile_space", "mobile_plus86", "mobile_86", "landline", "landline_paren", "us", "intl"])
        m = self.zh.phone_number()
        if form == "mobile":
            v = m
        elif form == "mobile_dash":
            v = f"{m[:3]}-{m[3:7]}-{m[7:]}"
        elif form == "mobile_space":
            v = f"{m[:3]} {m[3:7]} {m[7:]}"
        elif form == "mobile_plus86":
            v = self.pick([f"+86 {m}", f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"+86-{m}", f"+8613{m[2:]}", f"0086 {m}"])
        elif form == "mobile_86":
            v = "86" + m
        elif form in ("landline", "landline_paren"):
            area = self.pick(["010", "021", "022", "023", "020", "024", "027", "028", "029", "0755", "0571", "0531", "0371", "0731", "0898"])
            local = str(self.rng.randint(2, 8)) + "".join(self.rng.choice(string.digits) for _ in range(7 if len(area) == 3 else self.rng.choice([6, 7])))
            v = f"({area}){local}" if form == "landline_paren" else self.pick([f"{area}-{local}", f"{area} {local}", f"{area}{local}", f"{area}-{local}-{self.rng.randint(100, 9999)}"])
        elif form == "us":
            v = self.en.phone_number()
        else:
            cc = self.pick(["44", "33", "49", "81", "61", "65", "852", "39", "34"])
            groups = [str(self.rng.randint(10, 99)), str(self.rng.randint(1000, 9999)), str(self.rng.randint(1000, 9999))]
            v = "+" + cc + " " + " ".join(groups)
        zh = ["电话{v}", "联系电话：{v}", "请拨打{v}咨询", "手机{v}，", "有问题打{v}找我", "联系方式 {v} 。"]
        en = ["call {v} for an appointment", "Phone: {v}", "reach me at {v}", "tel {v}"]
        return form, v, zh, en, fragments(v)

    def email(self):
        form = self.pick(["safe", "free", "company"])
        v = {"safe": self.en.email, "free": self.en.free_email, "company": self.en.company_email}[form]()
        zh = ["邮箱{v}", "请发邮件到{v}联系", "E-mail：{v}", "邮件 {v} 已收到"]
        en = ["email me at {v}", "Contact: {v}.", "send results to {v}"]
        return form, v, zh, en, fragments(v)

    def ip(self):
        form = self.pick(["ipv4", "ipv4_private", "ipv6"])
        v = {"ipv4": self.en.ipv4_public, "ipv4_private": self.en.ipv4_private, "ipv6": self.en.ipv6}[form]()
        zh = ["服务器IP {v}", "从{v}登录", "访问地址{v}异常"]
        en = ["logged in from {v}", "server {v} responded", "IP address: {v}"]
        return form, v, zh, en, [v]

    def url(self):
        user, password = self.en.user_name(), self.en.password(length=10, special_chars=False)
        scheme = self.pick(["https", "http", "ftp"])
        v = f"{scheme}://{user}:{password}@{self.en.domain_name()}/{self.en.uri_path()}"
        form = "user_password"
        if self.rng.random() < 0.3:
            v = f"{scheme}://{user}@{self.en.domain_name()}/"
            form = "user_only"
        zh = ["报告下载：{v}", "请访问{v}查看", "链接 {v} 。"]
        en = ["download the report from {v}", "see {v} for images"]
        return form, v, zh, en, fragments(f"{user} {password}" if form == "user_password" else user)

    def bank_card(self):
        form = self.pick(["faker", "unionpay", "grouped", "dashed"])
        if form == "unionpay":
            v = self._luhn("62" + "".join(self.rng.choice(string.digits) for _ in range(self.rng.choice([14, 15, 16]))))
        else:
            v = self.en.credit_card_number()
        if form == "grouped" or form == "dashed":
            while len(v) != 16:
                v = self.en.credit_card_number()
            v = (" " if form == "grouped" else "-").join(v[i:i + 4] for i in range(0, 16, 4))
        zh = ["银行卡号{v}", "卡号：{v}", "通过{v}支付了费用", "尾号前的完整卡号 {v} 已冻结"]
        en = ["card number {v}", "paid with {v}", "Credit card: {v}"]
        return form, v, zh, en, fragments(v)

    def _luhn(self, stem: str) -> str:
        for check in string.digits:
            if luhn_valid(stem + check):
                return stem + check
        raise AssertionError

    def ssn(self):
        v = self.en.ssn()
        form = self.pick(["dashed", "spaced"])
        if form == "spaced":
            v = v.replace("-", " ")
        zh = ["美国社会安全号 {v}", "SSN：{v}"]
        en = ["SSN {v}", "social security number {v}", "his {v} was on file", "(SSN: {v})"]
        return form, v, zh, en, fragments(v)

    def passport(self):
        form = self.pick(["faker_labelled", "cn_e", "cn_g"])
        if form == "faker_labelled":
            v = self.en.passport_number()
            zh = ["护照号码{v}", "护照号：{v}", "护照 {v}"]
            en = ["passport number {v}", "Passport No. {v}", "passport {v}"]
        else:
            prefix = "E" if form == "cn_e" else "G"
            v = prefix + "".join(self.rng.choice(string.digits) for _ in range(8))
            zh = ["持{v}出境", "证件{v}", "护照{v}"]
            en = ["travel document {v}", "passport {v}"]
        return form, v, zh, en, fragments(v)

    def medical_record(self):
        digits = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(6, 10)))
        v = self.pick([digits, "ZY" + digits, "MR-" + digits, "A" + digits])
        form = "labelled"
        zh = ["病历号{v}", "病历号：{v}", "住院号 {v}", "门诊号：{v}", "病案号{v}", "就诊卡号{v}"]
        en = ["MRN: {v}", "MRN {v}", "Medical Record Number {v}", "medical record no. {v}", "Patient ID: {v}"]
        return form, v, zh, en, fragments(v)

    def insurance(self):
        digits = "".join(self.rng.choice(string.digits) for _ in range(self.rng.randint(8, 12)))
        v = self.pick([digits, "YB" + digits, self.en.bothify("???#########").upper()])
        form = "labelled"
        zh = ["医保卡号{v}", "医保卡号：{v}", "社保卡号 {v}", "医保号：{v}"]
        en = ["Insurance ID: {v}", "Member ID {v}", "policy number {v}", "Medicare Number: {v}"]
        return form, v, zh, en, fragments(v)

    def name(self, lang: str):
        if lang == "zh":
            full = self.zh.name()
            surname = full[:2] if full[:2] in ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯") else full[0]
            form = self.pick(["patient", "doctor_suffix", "title_surname", "label", "gender_age", "family", "self", "mou", "no_cue"])
            templates = {
                "patient": (["患者{v}今日复诊", "患者{v}，入院时", "病人{v}诉头痛"], full),
                "doctor_suffix": (["{v}医生建议复查", "{v}主任查房后", "请{v}大夫会诊"], full),
                "title_surname": (["{v}女士您好", "{v}先生，您的检查", "感谢{v}医生"], surname),
                "label": (["姓名：{v}", "主治医师：{v}", "联系人：{v}"], full),
                "gender_age": (["{v}，男，45岁", "{v}，女，62岁，"], full),
                "family": (["家属{v}签字", "监护人{v}同意"], full),
                "self": (["我叫{v}，", "我叫{v}想咨询"], full),
                "mou": (["患者{v}，", "{v}医生"], surname + self.pick(["某", "某某"])),
                "no_cue": ([
                    "{v}今天来复查了", "昨天{v}说胸闷", "{v}的化验单我看了", "护士通知{v}明天空腹抽血",
                    "这是{v}第二次住院", "我和{v}一起去的医院",
                ], full),
            }
            zh, v = templates[form]
            if len(v) == 1:
                # a one-character surname identifies only with its cue (王女士): check that pair
                template = self.pick(zh)
                return form, v, [template], [], [v + template.split("{v}")[1][:2]]
            return form, v, zh, [], [v]
        first, last = self.en.first_name(), self.en.last_name()
        form = self.pick(["title_last", "title_full", "patient", "credential", "age", "name_is", "signed", "no_cue"])
        templates = {
            "title_last": (["Dr. {v} reviewed the scan", "Mrs. {v} was discharged", "Mr. {v} reported pain"], last),
            "title_full": (["Dr. {v} reviewed the scan", "Ms. {v} called the clinic"], f"{first} {last}"),
            "patient": (["The patient, {v}, was admitted", "patient {v} was seen today"], f"{first} {last}"),
            "credential": (["Report signed by {v}, MD", "{v}, RN, checked the vitals"], f"{first} {last}"),
            "age": (["{v}, a 54-year-old man, presented"], f"{first} {last}"),
            "name_is": (["My name is {v} and I have diabetes", "Name: {v}"], f"{first} {last}"),
            "signed": (["Signed: {v}", "Referred by {v}"], f"{first} {last}"),
            "no_cue": ([
                "{v} asked about the dosage", "Yesterday {v} felt dizzy", "{v} called to reschedule",
                "We discussed the results with {v} yesterday", "The results for {v} came back normal",
            ], f"{first} {last}"),
        }
        en, v = templates[form]
        return form, v, [], en, [w for w in v.split() if len(w) >= 3] or [v]

    def address(self, lang: str):
        if lang == "zh":
            form = self.pick(["faker", "street_number", "cued_city"])
            if form == "faker":
                v = self.zh.address()
                frag = [v.split(" ")[0][-6:]]
            else:
                road = self.zh.street_name() if self.rng.random() < 0.5 else self.zh.city_name() + self.pick(["路", "街", "大道"])
                number = f"{self.rng.randint(1, 999)}号" + self.pick(["", f"{self.rng.randint(1, 30)}栋{self.rng.randint(101, 2505)}室", f"{self.rng.randint(1, 6)}单元"])
                if form == "street_number":
                    v = road + number
                else:
                    v = self.zh.city() + self.zh.district() + "区" + road + number
                frag = [road + number[:2]]
            zh = ["家住{v}", "住址：{v}", "现住{v}，", "地址 {v}"]
            return form, v, zh, [], frag
        form = self.pick(["full", "street_only"])
        if form == "full":
            v = self.en.address()
            if self.rng.random() < 0.5:
                v = v.replace("\n", ", ")
        else:
            v = self.en.street_address()
        en = ["She lives at {v}.", "Address: {v}", "mail it to {v}"]
        first_line = re.split(r"\n|, ", v)[0]
        return form, v, [], en, [first_line]

    def make(self, kind: str, lang: str):
        method = getattr(self, kind)
        form, value, zh, en, frag = method(lang) if kind in ("name", "address") else method()
        templates = zh if lang == "zh" else en
        if not templates:
            return None
        sentence = self.pick(templates).replace("{v}", value)
        return form, value, sentence, frag


# --- planted must-keep medical numbers and terms --------------------------------------------

def must_keep(rng: random.Random, lang: str) -> str:
    r = rng
    zh = [
        lambda: f"{r.choice([250, 500, 0.5, 10, 20, 40, 100])}mg每日{r.randint(1, 3)}次",
        lambda: f"空腹血糖{r.uniform(4, 15):.1f}mmol/L",
        lambda: f"HbA1c {r.uniform(5, 11):.1f}%",
        lambda: f"血压{r.randint(90, 190)}/{r.randint(50, 120)}mmHg",
        lambda: f"体温{r.uniform(36, 41):.1f}℃",
        lambda: f"{r.randint(2015, 2025)}年{r.randint(1, 12)}月{r.randint(1, 28)}日",
        lambda: f"{r.randint(2015, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        lambda: r.choice(["E11.9", "I10", "J45.909", "A15.0", "B20", "K35.80", "C34.90", "N18.3", "F32.1", "A01.0"]),
        lambda: f"白细胞{r.uniform(2, 20):.1f}×10^9/L",
        lambda: f"血红蛋白{r.randint(60, 170)}g/L",
        lambda: f"心率{r.randint(50, 140)}次/分",
        lambda: f"体重{r.randint(40, 110)}kg",
        lambda: r.choice(["阿莫西林", "二甲双胍", "布洛芬", "阿司匹林", "头孢曲松", "胰岛素", "奥司他韦", "利福平"]),
        lambda: r.choice(["高血压", "糖尿病", "肺结核", "黄疸型肝炎", "伤寒", "向日葵过敏", "白血病", "高热惊厥"]),
        lambda: f"批号{_invalid_long_number(r)}",
        lambda: f"编号{r.choice(['10', '11', '12'])}{''.join(r.choice(string.digits) for _ in range(9))}",
    ]
    en = [
        lambda: f"{r.choice([250, 500, 850, 1000])} mg twice daily",
        lambda: f"glucose {r.uniform(70, 300):.0f} mg/dL",
        lambda: f"HbA1c {r.uniform(5, 11):.1f}%",
        lambda: f"BP {r.randint(90, 190)}/{r.randint(50, 120)} mmHg",
        lambda: f"temperature {r.uniform(97, 104):.1f}°F",
        lambda: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2015, 2025)}",
        lambda: f"{r.randint(1, 28)} {r.choice(['January', 'March', 'May', 'October'])} {r.randint(2015, 2025)}",
        lambda: r.choice(["ICD-10 E11.9", "ICD-10 I10", "J45.909", "C34.90", "G20", "K50.90"]),
        lambda: f"creatinine {r.uniform(0.5, 4):.1f} mg/dL",
        lambda: f"platelets {r.randint(100, 450)},000/µL",
        lambda: r.choice(["metformin", "amoxicillin", "atorvastatin", "levodopa", "insulin glargine", "ibuprofen"]),
        lambda: r.choice(["Parkinson's disease", "Crohn's disease", "Down syndrome", "Alzheimer disease",
                          "Hashimoto thyroiditis", "Graves disease", "Addison disease", "Cushing syndrome"]),
        lambda: f"lot {_invalid_long_number(r)}",
    ]
    return r.choice(zh if lang == "zh" else en)()


def _invalid_long_number(rng: random.Random) -> str:
    """An 18-digit batch number that is neither a valid resident ID nor a valid card."""
    while True:
        value = "".join(rng.choice(string.digits) for _ in range(18))
        if not cn_id18_valid(value) and not bank_card_valid(value):
            return value


def insert(text: str, sentence: str, lang: str, rng: random.Random) -> str:
    """Put a sentence at a random sentence boundary of a real text."""
    boundaries = [m.end() for m in re.finditer(r"[。！？]" if lang == "zh" else r"[.!?]\s", text)] or [len(text)]
    at = rng.choice(boundaries + [0])
    glue = "" if lang == "zh" else " "
    end = "。" if lang == "zh" else "."
    if sentence[-1] in "。，.,":
        end = ""
    return text[:at] + glue + sentence + end + glue + text[at:]


def count_fragment(text: str, fragment: str) -> int:
    """Occurrences of a fragment; a word (name) only as a whole word, digits anywhere."""
    if fragment.isascii() and fragment.isalpha():
        return len(re.findall(rf"(?<![A-Za-z0-9]){re.escape(fragment)}(?![A-Za-z0-9])", text))
    return text.count(fragment)


# --- the evaluation --------------------------------------------------------------------------

def evaluate(shared: Path, per_type: int, seed: int) -> dict:
    rng = random.Random(seed)
    zh_texts, en_texts = load_texts(shared, 4000, rng)
    planter = Planter(seed)
    scrubber, surrogates = Scrubber(), Scrubber(placeholder="surrogate", seed=seed)
    recall = defaultdict(lambda: [0, 0])
    by_form = defaultdict(lambda: [0, 0])
    missed = defaultdict(list)
    kept = defaultdict(lambda: [0, 0])
    lost_samples = []
    not_idempotent = Counter(tag=0, surrogate=0)
    planted_chars = 0
    index = 0
    for kind in PII_TYPES:
        langs = ["zh", "en"]
        for n in range(per_type):
            lang = langs[n % 2]
            made = planter.make(kind, lang)
            if made is None:
                lang = "zh" if lang == "en" else "en"
                made = planter.make(kind, lang)
            form, value, sentence, frags = made
            base = (zh_texts if lang == "zh" else en_texts)[index % len(zh_texts if lang == "zh" else en_texts)]
            index += 1
            keep_items = [must_keep(rng, lang) for _ in range(2)]
            text = base
            for item in keep_items:
                text = insert(text, item if lang == "en" else item + "，", lang, rng)
            text = insert(text, sentence, lang, rng)
            planted_chars += len(text)
            out = scrubber.scrub(text, key=str(index))[0]
            if scrubber.scrub(out, key=str(index))[0] != out:
                not_idempotent["tag"] += 1
            fake = surrogates.scrub(text, key=str(index))[0]
            if surrogates.scrub(fake, key=str(index))[0] != fake:
                not_idempotent["surrogate"] += 1
            caught = all(count_fragment(out, f) <= count_fragment(text, f) - count_fragment(sentence, f) for f in frags)
            recall[kind][0] += caught
            recall[kind][1] += 1
            by_form[f"{kind}/{lang}/{form}"][0] += caught
            by_form[f"{kind}/{lang}/{form}"][1] += 1
            if not caught and len(missed[kind]) < 15:
                missed[kind].append(sentence)
            for item in keep_items:
                ok = count_fragment(out, item) >= count_fragment(text, item)
                category = lang
                kept[category][0] += ok
                kept[category][1] += 1
                if not ok and len(lost_samples) < 30:
                    at = text.find(item)
                    hits = [(text[s.start:s.end], s.kind) for s in scrubber.find(text) if s.start < at + len(item) and s.end > at]
                    lost_samples.append({"item": item, "planted_pii": sentence, "scrubbed_as": hits})
    in_context = [by_form[f] for f in by_form if f.startswith("name/") and not f.endswith("/no_cue")]
    no_cue = [by_form[f] for f in by_form if f.startswith("name/") and f.endswith("/no_cue")]
    result = {
        "recall": {k: round(c / t, 4) for k, (c, t) in recall.items()},
        # Names in patient/doctor/title contexts, and names planted with no cue at all ("Adam Booth
        # asked ...", "谢伟今天来复查了"), reported apart.
        "name_recall_in_context": round(sum(c for c, _ in in_context) / sum(t for _, t in in_context), 4),
        "name_recall_no_cue": round(sum(c for c, _ in no_cue) / max(1, sum(t for _, t in no_cue)), 4),
        "planted": {k: t for k, (c, t) in recall.items()},
        "recall_by_form": {k: {"recall": round(c / t, 4), "n": t} for k, (c, t) in sorted(by_form.items())},
        "missed_samples": dict(missed),
        "keep_rate": {k: round(c / t, 4) for k, (c, t) in kept.items()},
        "keep_rate_all": round(sum(c for c, _ in kept.values()) / sum(t for _, t in kept.values()), 4),
        "must_keep_planted": sum(t for _, t in kept.values()),
        "must_keep_lost_samples": lost_samples,
        "not_idempotent_texts": dict(not_idempotent),
        "planted_texts": index,
    }
    result["original_text"] = false_positives(scrubber, zh_texts, en_texts)
    result["general_text_names"] = general_text_names(shared)
    result["speed"] = speed(zh_texts, en_texts)
    structured = [result["recall"][k] for k in STRUCTURED]
    result["targets"] = TARGETS
    result["targets_met"] = {
        "structured_recall": min(structured) >= TARGETS["structured_recall"],
        "name_recall_in_context": result["name_recall_in_context"] >= TARGETS["name_recall"],
        "name_recall_all_planted": result["recall"]["name"] >= TARGETS["name_recall"],
        "keep_rate": result["keep_rate_all"] >= TARGETS["keep_rate"],
        "regex_mb_per_s": min(result["speed"]["regex_layer"][c]["mb_per_s"] for c in ("zh", "en")) >= TARGETS["regex_mb_per_s"],
    }
    return result


def false_positives(scrubber: Scrubber, zh_texts: list[str], en_texts: list[str]) -> dict:
    """What the scrubber finds in the untouched originals (all of it counts as a false positive
    here, though some may be real PII in the corpora)."""
    report = {}
    for lang, texts in (("zh", zh_texts), ("en", en_texts)):
        chars = scrubbed = 0
        counts, samples = Counter(), defaultdict(list)
        for text in texts:
            chars += len(text)
            for span in scrubber.find(text):
                scrubbed += span.end - span.start
                counts[span.kind] += 1
                if len(samples[span.kind]) < 8:
                    samples[span.kind].append(text[max(0, span.start - 12):span.end + 12])
        report[lang] = {
            "texts": len(texts),
            "chars": chars,
            "scrubbed_char_fraction": round(scrubbed / chars, 6),
            "texts_changed_fraction": round(sum(1 for t in texts if scrubber.find(t)) / len(texts), 4),
            "detections": dict(counts),
            "samples": dict(samples),
        }
    return report


def general_text_names(shared: Path, lines: int = 2000) -> dict:
    """Names found in general text (the first paragraphs of a wuxia novel): fictional characters,
    which the no-cue rule replaces too; with it and with the cue rules only."""
    text_lines = [line.strip() for line in (shared / "medicalgpt/pretrain/tianlongbabu.txt").read_text("utf-8").splitlines()]
    texts = [line for line in text_lines if line][:lines]
    out = {"corpus": "medicalgpt/pretrain/tianlongbabu.txt", "texts": len(texts), "chars": sum(map(len, texts))}
    for label, names_without_cue in (("with_no_cue_rule", True), ("cue_rules_only", False)):
        scrubber = Scrubber(["name"], names_without_cue=names_without_cue)
        found = Counter(text[s.start:s.end] for text in texts for s in scrubber.find(text))
        out[label] = {"detections": sum(found.values()), "most_common": found.most_common(10)}
    return out


def speed(zh_texts: list[str], en_texts: list[str]) -> dict:
    """Single-thread throughput of Scrubber.scrub over the original texts (one core), per language
    and overall; best of three passes (the machine is shared, so timings vary run to run). jieba's
    word cache is emptied before each pass, so every pass pays for its own segmentation."""
    layers = {"regex_layer": [t for t in PII_TYPES if t not in ("name", "address")], "full": None}
    out = {"note": "MB = UTF-8 bytes (a Chinese character is 3 bytes); one thread, best of 3 passes, cold jieba cache"}
    for layer, types in layers.items():
        scrubber = Scrubber(types)
        scrubber.scrub("预热 warm-up 患者张三 13812345678")  # loads jieba's dictionary
        out[layer] = {"types": types or list(PII_TYPES)}
        for corpus, texts in (("zh", zh_texts), ("en", en_texts), ("all", zh_texts + en_texts)):
            best = float("inf")
            for _ in range(3):
                tagged_words.cache_clear()
                start = time.perf_counter()
                for text in texts:
                    scrubber.scrub(text)
                best = min(best, time.perf_counter() - start)
            out[layer][corpus] = {
                "chars_per_s": round(sum(map(len, texts)) / best),
                "mb_per_s": round(sum(len(t.encode("utf-8")) for t in texts) / best / 1e6, 2),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared-data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--per-type", type=int, default=1000, help="planted values per PII type")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "privacy_eval.json")
    args = parser.parse_args()
    started = time.perf_counter()
    result = evaluate(args.shared_data, args.per_type, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_result(args.output, result)
    keys = ("recall", "name_recall_in_context", "name_recall_no_cue", "keep_rate_all", "not_idempotent_texts", "targets_met")
    print(json.dumps({k: result[k] for k in keys}, ensure_ascii=False, indent=1))
    print(json.dumps({lang: {k: v for k, v in r.items() if k != "samples"} for lang, r in result["original_text"].items()}, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result["speed"].items()}, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result["general_text_names"].items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
