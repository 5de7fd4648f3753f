// Drag-and-drop onto file inputs. Without JavaScript the plain file input works
// the same way; this only lets files be dropped onto the form as well.
(function () {
  "use strict";
  document.querySelectorAll("form[enctype='multipart/form-data']").forEach(function (form) {
    var input = form.querySelector("input[type='file']");
    if (!input || typeof DataTransfer === "undefined") { return; }
    var hint = document.createElement("p");
    hint.className = "hint drop-hint";
    hint.textContent = "You can also drop files here.";
    input.insertAdjacentElement("afterend", hint);
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (event) {
        event.preventDefault();
        form.classList.add("dropping");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("dropping"); });
    });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (file) { files.items.add(file); });
      Array.prototype.forEach.call(event.dataTransfer.files, function (file) { files.items.add(file); });
      input.files = files.files;
      hint.textContent = input.files.length + " file(s) chosen.";
    });
  });
})();

// A refused upload brings the page back at its form (#add-files): the focus goes to the
// file input, so a screen reader reads its label with the message. Without JavaScript
// the browser still scrolls there.
(function () {
  "use strict";
  var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  var invalid = target && target.querySelector("[aria-invalid='true']");
  if (invalid) { invalid.focus(); }
})();
