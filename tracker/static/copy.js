// A "Copy the link" button beside a link shown once. Without JavaScript, or where the
// browser offers no clipboard, the link is read-only text to select and copy by hand.
(function () {
  "use strict";
  document.querySelectorAll("input.copy-field").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
    if (!navigator.clipboard || !window.isSecureContext) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = "Copy the link";
    var status = document.createElement("span");
    status.className = "hint";
    status.setAttribute("role", "status");
    field.insertAdjacentElement("afterend", button);
    button.insertAdjacentElement("afterend", status);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { status.textContent = " Copied."; },
        function () {
          field.select();
          status.textContent = " Copying failed: the link is selected; copy it by hand.";
        }
      );
    });
  });
})();
