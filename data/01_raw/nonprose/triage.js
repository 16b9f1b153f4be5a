// Triage form: scores vital signs and highlights patients who need urgent review.
const THRESHOLDS = { heartRate: [50, 110], respRate: [10, 24], temperature: [35.5, 38.5] };

function scoreVitals(vitals) {
  let score = 0;
  for (const [key, [low, high]] of Object.entries(THRESHOLDS)) {
    const value = Number(vitals[key]);
    if (Number.isNaN(value)) continue;
    if (value < low || value > high) score += 2;
  }
  return score;
}

document.querySelectorAll("form.triage").forEach((form) => {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const score = scoreVitals(data);
    form.querySelector(".result").textContent = score >= 4 ? "Urgent review" : "Routine";
    form.classList.toggle("urgent", score >= 4);
  });
});

!function(e,t){"use strict";var n={hr:[50,110],rr:[10,24],t:[35.5,38.5]};function r(e){var t=0;for(var r in n){var o=+e[r];isNaN(o)||(o<n[r][0]||o>n[r][1])&&(t+=2)}return t}e.triageScore=r,t.querySelectorAll("form.triage").forEach(function(e){e.addEventListener("submit",function(t){t.preventDefault();var n=Object.fromEntries(new FormData(e)),o=r(n);e.querySelector(".result").textContent=o>=4?"Urgent review":"Routine",e.classList.toggle("urgent",o>=4)})})}(window,document);
