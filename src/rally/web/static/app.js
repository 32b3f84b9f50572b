// Scripts live in files (the Content-Security-Policy forbids inline ones).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
