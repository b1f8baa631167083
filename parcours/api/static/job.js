// The diagnostic page polls its job until it is done or failed (parcours' own script).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        document.getElementById("job-status").textContent = job.status;
        document.getElementById("job-progress").value = job.percent || 0;
        document.getElementById("job-step").textContent = job.step || "";
        if (job.error) {
          var err = document.getElementById("job-error");
          err.textContent = job.error;
          err.hidden = false;
        }
        if (job.status === "done") {
          document.getElementById("job-done").hidden = false;
        } else if (job.status !== "failed") {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
