// The pages' one script. Every page works without it; it only makes three things nicer:
// the directory's search refreshes as one types, a photo chosen on the edit page is previewed
// before it is sent, and "my form layout" is arranged in place (dragging, or the Up and Down
// buttons, which without the script submit the move).
"use strict";

// The directory: the results are fetched from the form's data-live address and replaced in
// place, and the address bar follows, so that the page can be shared and reloaded.
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

// The edit page's photo: the chosen file is shown in the image its input names.
(() => {
  for (const input of document.querySelectorAll("input[type=file][data-preview]")) {
    const preview = document.getElementById(input.dataset.preview);
    input.addEventListener("change", () => {
      const file = input.files[0];
      if (!preview || !file) {
        return;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        preview.src = reader.result;
        preview.hidden = false;
      });
      reader.readAsDataURL(file);
    });
  }
})();

// "My form layout": entries move in place, by dragging or by their buttons (focus stays on
// the button pressed), and each move is announced to screen readers.
(() => {
  const list = document.querySelector("form[data-arrange] ol");
  const status = document.getElementById("arrange-status");
  if (!list || !status) {
    return;
  }
  const announce = (item) => {
    const items = [...list.children];
    status.textContent = status.dataset.moved
      .replace("{entry}", item.querySelector("label").textContent)
      .replace("{position}", String(items.indexOf(item) + 1))
      .replace("{total}", String(items.length));
  };
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=move]");
    if (!button) {
      return;
    }
    event.preventDefault();
    const item = button.closest("li");
    if (button.value.startsWith("up:") && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (button.value.startsWith("down:") && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    }
    button.focus();
    announce(item);
  });
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.querySelector("input[name=order]").value);
  });
  list.addEventListener("dragover", (event) => {
    if (dragged) {
      event.preventDefault();
    }
  });
  list.addEventListener("drop", (event) => {
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) {
      return;
    }
    event.preventDefault();
    const box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    announce(dragged);
  });
  list.addEventListener("dragend", () => {
    dragged = null;
  });
})();
