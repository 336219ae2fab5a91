// Keep the item formset's TOTAL_FORMS in step with rows added by htmx.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "items") return;
  const total = document.getElementById("id_items-TOTAL_FORMS");
  total.value = document.querySelectorAll("#items fieldset.item").length;
  const rows = document.querySelectorAll("#items fieldset.item");
  rows[rows.length - 1].querySelector("input")?.focus();
});

// Upload progress for forms posted by htmx with a file.
document.addEventListener("htmx:xhr:progress", (event) => {
  const bar = event.target.querySelector?.("progress");
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});
