/* The wall's browser side (ui/wall.py injects it once per page load, beside the element whose
   data-* attributes carry its settings; only that element id is filled in, at import).

   1. Streamlit's own switches. Streamlit 1.67 reads ?embed=true (no toolbar, menu or running
      indicator: the kiosk chrome) and ?embed_options=dark_theme|light_theme (the [theme.dark]
      or [theme.light] section of .streamlit/config.toml) from the URL when the page loads, and
      refuses to set them from a script. So the wall adds what its settings ask for to its own
      URL and loads that once; the same switch is not attempted again within a minute, so a URL
      that Streamlit rewrites can never make the page loop.
   2. Self-healing. Streamlit reconnects its websocket after a server restart and reruns the
      page, but the tab keeps everything it had accumulated; the wall reloads itself instead:
      when the server's boot id (data-boot) changes, when the server answers again after an
      outage, and once a night at data-reload-at (ms since epoch), but never into a server that
      does not answer its health check (data-health). Settings are read on every tick. */
(function () {
  if (window.__ipscapeWallWatchdog) { return; }
  window.__ipscapeWallWatchdog = true;
  var SWITCHED_KEY = "ipscape-wall-switched-at";
  var THEME_OPTIONS = ["dark_theme", "light_theme"];

  function settings() { return document.getElementById("${watchdog_id}"); }

  function switchedUrl(el) {
    var url = new URL(window.location.href);
    var changed = false;
    if (el.getAttribute("data-embed") === "1" &&
        (url.searchParams.get("embed") || "").toLowerCase() !== "true") {
      url.searchParams.set("embed", "true");
      changed = true;
    }
    var theme = el.getAttribute("data-theme-option");
    var options = url.searchParams.getAll("embed_options").map(function (o) {
      return o.toLowerCase();
    });
    var kept = options.filter(function (o) { return THEME_OPTIONS.indexOf(o) < 0; });
    if (theme && (options.indexOf(theme) < 0 || options.length !== kept.length + 1)) {
      url.searchParams.delete("embed_options");
      kept.concat([theme]).forEach(function (o) { url.searchParams.append("embed_options", o); });
      changed = true;
    }
    return changed ? url.toString() : null;
  }

  function applySwitches() {
    var el = settings();
    if (!el) { return false; }
    var target = switchedUrl(el);
    if (target === null) { return false; }
    // The same switch again within a minute means Streamlit dropped it: give up, do not loop.
    var asked = el.getAttribute("data-embed") + " " + el.getAttribute("data-theme-option");
    var last = (window.sessionStorage.getItem(SWITCHED_KEY) || "0 ").split(/ (.*)/);
    if (last[1] === asked && Date.now() - Number(last[0]) < 60000) { return false; }
    window.sessionStorage.setItem(SWITCHED_KEY, Date.now() + " " + asked);
    window.location.replace(target);
    return true;
  }

  if (applySwitches()) { return; }

  var wasDown = false;
  var firstBoot = null;
  function tick() {
    var el = settings();
    if (!el) { return; }
    var boot = el.getAttribute("data-boot");
    if (firstBoot === null) { firstBoot = boot; }
    var reloadAt = Number(el.getAttribute("data-reload-at") || 0);
    fetch(el.getAttribute("data-health"), { cache: "no-store" }).then(function (r) {
      if (!r.ok) { wasDown = true; return; }
      if (wasDown || boot !== firstBoot || (reloadAt > 0 && Date.now() >= reloadAt)) {
        window.location.reload();
      }
    }).catch(function () { wasDown = true; });
  }
  window.setInterval(tick, 5000);
})();
