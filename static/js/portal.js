// Upload progress for htmx 2 uploads: the bar fills while the browser sends the file.
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("form") : null;
  var bar = form ? form.querySelector("progress[data-upload-progress]") : null;
  if (!bar || !event.detail.lengthComputable) return;
  var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
  bar.hidden = false;
  bar.value = percent;
  var label = form.querySelector("[data-upload-percent]");
  if (label) label.textContent = percent + "%";
});
// Restore wizard: show only the fields of the chosen target.
function showTargetFields(form) {
  var chosen = form.querySelector("input[name=location]:checked");
  form.querySelectorAll("[data-target-fields]").forEach(function (block) {
    block.hidden = !chosen || block.getAttribute("data-target-fields") !== chosen.value;
  });
  var method = form.querySelector("input[name=login_method]:checked");
  form.querySelectorAll("[data-sql-login]").forEach(function (block) {
    block.hidden = !method || method.value !== "sql";
  });
}
document.addEventListener("change", function (event) {
  var form = event.target.closest && event.target.closest("form[data-restore]");
  if (form) showTargetFields(form);
});
// The server renders the hidden state; this only re-applies it to new content (a page, an htmx swap), in case the
// browser restored other choices than the server rendered (back button, form autofill).
document.addEventListener("htmx:load", function (event) {
  var root = event.detail && event.detail.elt ? event.detail.elt : document;
  if (root.matches && root.matches("form[data-restore]")) showTargetFields(root);
  if (root.querySelectorAll) root.querySelectorAll("form[data-restore]").forEach(showTargetFields);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-restore]").forEach(showTargetFields);
});
// The language switch waits for its Kies button, so keyboard users can move through the choices.
// R10: a finished local back-up goes to the browser by itself, once. The server marks the link only until the file
// was downloaded; the attribute is removed before following it, so a second swap or event cannot repeat it.
function followAutoDownload(root) {
  var links = [];
  if (root.matches && root.matches("a[data-auto-download]")) links.push(root);
  if (root.querySelectorAll) links = links.concat(Array.prototype.slice.call(root.querySelectorAll("a[data-auto-download]")));
  links.forEach(function (link) {
    link.removeAttribute("data-auto-download");
    window.location.assign(link.href);
  });
}
document.addEventListener("htmx:load", function (event) {
  followAutoDownload(event.detail && event.detail.elt ? event.detail.elt : document);
});
// A shown-once API key gets a copy button; it says when the key is on the clipboard.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) return;
  var source = document.querySelector(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    button.textContent = button.getAttribute("data-copied") || button.textContent;
  });
});
