// Tapping anywhere on a standings row opens its team (the team name stays a plain link).
document.addEventListener("click", function (event) {
  var row = event.target.closest("tr[data-href]");
  if (row && !event.target.closest("a")) window.location.href = row.dataset.href;
});
