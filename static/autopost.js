"use strict";
// Submits the authorize form (POST to the EHR) without an inline script.
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("authorize");
  if (f) { f.submit(); }
});
