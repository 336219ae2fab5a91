// Keep the item formset's TOTAL_FORMS in step with rows added by htmx.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "items") return;
  const total = document.getElementById("id_items-TOTAL_FORMS");
  total.value = document.querySelectorAll("#items fieldset.item").length;
  const rows = document.querySelectorAll("#items fieldset.item");
  rows[rows.length - 1].querySelector("input")?.focus();
});
