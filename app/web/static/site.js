// Progressive enhancement only: every page works without it. On a page with an error
// summary, focus moves to the summary (so screen readers announce it first); on a result,
// to the result's panel. Links in the summary move focus to their field.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.querySelector("[data-error-summary]") || document.querySelector("[data-result]");
  if (target) {
    target.focus();
  }
});
