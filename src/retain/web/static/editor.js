// The flow editor, made easier when scripts run: line numbers beside the text box (the
// lines with problems marked), and a problem's "line N" link puts the cursor on that line.
// Without this file the page works the same: the problems are listed beside their lines below.
(function () {
  "use strict";
  var box = document.querySelector("[data-editor]");
  if (!box) { return; }
  var text = box.querySelector("textarea");
  var bad = {};
  document.querySelectorAll(".inline-problem[data-line]").forEach(function (el) {
    bad[el.getAttribute("data-line")] = true;
  });

  var gutter = document.createElement("pre");
  gutter.className = "gutter";
  gutter.setAttribute("aria-hidden", "true");
  box.classList.add("numbered");
  box.insertBefore(gutter, text);

  function number() {
    var count = text.value.split("\n").length;
    var parts = [];
    for (var i = 1; i <= count; i++) {
      parts.push(bad[String(i)] ? '<span class="bad">' + i + "</span>" : String(i));
    }
    gutter.innerHTML = parts.join("\n") + "\n";
    gutter.scrollTop = text.scrollTop;
  }

  function goTo(line) {
    var lines = text.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || "").length;
    text.focus();
    text.setSelectionRange(start, end);
    var height = text.scrollHeight / Math.max(lines.length, 1);
    text.scrollTop = Math.max(0, (line - 3) * height);
  }

  text.addEventListener("input", function () { bad = {}; number(); });
  text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
  document.querySelectorAll("#problems a[data-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      goTo(parseInt(link.getAttribute("data-line"), 10));
    });
  });
  number();
  var problems = document.getElementById("problems");
  if (problems) { problems.focus(); }
})();
