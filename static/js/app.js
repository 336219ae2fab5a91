// No inline script, on* attribute or eval runs under the Content-Security-Policy:
// page behaviour is here, bound by id or data- attribute.

// "Add item" asks for the row after the last one the formset counts.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt.id !== "add-item") return;
  event.detail.parameters.index = document.getElementById("id_items-TOTAL_FORMS").value;
});

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

// Print buttons (the payment receipt).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// The declaration form: mark the customs offices the chosen type needs (an import
// its office of entry, an export departure and exit, a transit movement departure
// and destination); the others are left for another type.
function markOfficesNeeded() {
  const type = document.getElementById("id_type");
  if (!type) return;
  document.querySelectorAll("select[data-office-for]").forEach((select) => {
    const needed = select.dataset.officeFor.split(" ").includes(type.value);
    const field = select.closest(".field");
    field?.classList.toggle("needed", needed);
    field?.classList.toggle("not-needed", !needed);
    select.setAttribute("aria-required", needed ? "true" : "false");
  });
}
document.addEventListener("DOMContentLoaded", markOfficesNeeded);
document.addEventListener("change", (event) => {
  if (event.target.id === "id_type") markOfficesNeeded();
});
