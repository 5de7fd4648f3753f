// While a document's text is being read, ask the tracker every few seconds and show the
// answer in place: the page is never reloaded, so nothing typed into it is lost.
(function () {
  "use strict";
  document.querySelectorAll("[data-text-status]").forEach(function (flag) {
    var address = flag.getAttribute("data-text-status");
    var tries = 0;
    function ask() {
      fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (status) {
          if (status && status.state !== "pending") {
            flag.textContent = status.message;
            flag.removeAttribute("data-text-status");
            if (status.state === "failed") { flag.classList.add("flag-overdue"); }
          } else if (++tries < 400) {
            window.setTimeout(ask, 3000);
          }
        })
        .catch(function () { if (++tries < 400) { window.setTimeout(ask, 3000); } });
    }
    var link = flag.querySelector("a");
    if (link) { link.remove(); }
    window.setTimeout(ask, 2000);
  });
})();
