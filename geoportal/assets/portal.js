/* The language switch of the node's pages: ?lang=en (or the last choice, kept in localStorage) shows the
   English chrome and marks the page English; every other page works without this script. */
(function () {
  var p = new URLSearchParams(location.search), lang = p.get("lang");
  try { if (lang === "en" || lang === "uk") { localStorage.setItem("gp-lang", lang); } else { lang = localStorage.getItem("gp-lang"); } } catch (e) {}
  if (lang === "en") { document.documentElement.classList.add("en-ui"); }
  document.addEventListener("DOMContentLoaded", function () {
    var links = document.querySelectorAll(".gp-lang a[hreflang]");
    for (var i = 0; i < links.length; i++) {
      var a = links[i], q = new URLSearchParams(location.search);
      q.set("lang", a.hreflang);
      a.href = location.pathname + "?" + q.toString();
      if ((lang || "uk") === a.hreflang) { a.setAttribute("aria-current", "true"); } else { a.removeAttribute("aria-current"); }
    }
  });
})();
