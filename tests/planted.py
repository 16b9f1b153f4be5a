"""Two answers planted among real distractors in the RAG tests' corpus, and the questions that
should find them (plain module: tests import it; conftest.py only holds fixtures)."""
PLANTED = {
    "planted#zh": "青蒿琥酯片剂应在饭后半小时用温水送服，每日两次，连续服用七天，服药期间不要饮酒。",
    "planted#en": "Patients taking the drug zafirlukast should take it on an empty stomach, one hour before meals.",
}
PLANTED_QUESTIONS = {
    "planted#zh": "青蒿琥酯片剂饭前还是饭后吃？",
    "planted#en": "Should zafirlukast be taken with food?",
}
