// The directory's search as one types: the form works without this script (a plain GET);
// with it, the results are fetched from the form's data-live address and replaced in place,
// and the address bar follows, so that the page can be shared and reloaded.
"use strict";
(() => {
  const form = document.querySelector("form[data-live]");
  const results = document.getElementById("results");
  if (!form || !results) {
    return;
  }
  let timer = 0;
  let asked = 0;
  const refresh = async () => {
    const params = new URLSearchParams(new FormData(form));
    const mine = ++asked;
    const answer = await fetch(`${form.dataset.live}?${params}`, { credentials: "same-origin" });
    // A slower, older answer never replaces a newer one.
    if (mine !== asked || !answer.ok && answer.status !== 400) {
      return;
    }
    results.innerHTML = await answer.text();
    history.replaceState(null, "", `?${params}`);
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  });
})();
