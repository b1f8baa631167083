// A job's page (a diagnostic, a batch match) polls its job until it is done or failed;
// once done the page is reloaded so that the server renders the results (parcours' own script).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var states = JSON.parse(box.dataset.states || "{}");
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) {
          window.location.reload();  // logged out or no longer allowed: the page says so
          throw new Error("stop");
        }
        if (!r.ok) { throw new Error("retry"); }
        return r.json();
      })
      .then(function (job) {
        document.getElementById("job-status").textContent = states[job.status] || job.status;
        document.getElementById("job-progress").value = job.percent || 0;
        document.getElementById("job-step").textContent = job.step || "";
        if (job.error) {
          var err = document.getElementById("job-error");
          err.textContent = job.error;
          err.hidden = false;
        }
        if (job.status === "done") {
          if (box.dataset.status !== "done") { window.location.reload(); return; }
          document.getElementById("job-done").hidden = false;
        } else if (job.status !== "failed") {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function (e) { if (e.message !== "stop") { window.setTimeout(poll, 3000); } });
  }
  poll();
})();
