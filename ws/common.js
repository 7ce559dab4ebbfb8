// What client.js and livereload.js share: the socket kept open, and the
// stylesheet swap. script.go puts this file in place of each one's marker
// comment, inside its function scope, so that each served script stays
// self-contained.

  // keepConnected opens a WebSocket to url and opens it again, with a
  // backoff from 100 ms doubling to 3 s, whenever it closes. It calls
  // on.open(ws) when a socket opens and on.message(m, ws) with each JSON
  // message. The returned object's connected() resets the backoff: call it
  // once the server has greeted the socket.
  function keepConnected(url, on) {
    var delay = 100, sock = null, timer = null;
    function connect() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (sock) return;
      var ws;
      try { ws = new WebSocket(url); } catch (e) { retry(); return; }
      sock = ws;
      if (on.open) ws.onopen = function () { on.open(ws); };
      ws.onmessage = function (ev) {
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m) on.message(m, ws);
      };
      ws.onclose = function () {
        ws.onmessage = ws.onclose = null;
        if (sock === ws) sock = null;
        retry();
      };
      ws.onerror = function () { /* onclose follows */ };
    }
    function retry() {
      if (timer) return;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 3000);
    }
    // A page restored from the back/forward cache has a dead socket and may
    // be stale; connecting again checks.
    window.addEventListener('pageshow', function (ev) { if (ev.persisted) { delay = 100; connect(); } });
    connect();
    return { connected: function () { delay = 100; } };
  }

  function isStylesheet(link) {
    return (' ' + (link.rel || '').toLowerCase() + ' ').indexOf(' stylesheet ') >= 0 && link.href;
  }

  function segments(p) {
    return p.split('/').filter(function (s) { return s !== ''; });
  }

  // matchLength is the number of trailing path segments href shares with
  // the changed path ("static/app.css" matches "/static/app.css?v=2" by 2,
  // "/app.css" by 1).
  function matchLength(href, want) {
    var have;
    try { have = segments(decodeURIComponent(new URL(href, location.href).pathname)); } catch (e) { return 0; }
    var n = 0;
    while (n < have.length && n < want.length && have[have.length - 1 - n] === want[want.length - 1 - n]) n++;
    return n;
  }

  // reloadCSS swaps the stylesheets best matching path (all if none does)
  // for fresh copies; the old one goes once the new one has loaded, so the
  // page never shows unstyled.
  function reloadCSS(path) {
    var want = segments(path.split('?')[0]), links = document.getElementsByTagName('link');
    var all = [], best = [], bestLen = 0, i;
    for (i = 0; i < links.length; i++) {
      var l = links[i];
      if (!isStylesheet(l) || l.__reloadproxyOld) continue;
      all.push(l);
      var n = matchLength(l.href, want);
      if (n > bestLen) { bestLen = n; best = [l]; } else if (n === bestLen && n > 0) best.push(l);
    }
    var chosen = bestLen > 0 ? best : all;
    for (i = 0; i < chosen.length; i++) swap(chosen[i]);
  }

  function swap(link) {
    var parent = link.parentNode;
    if (!parent) return;
    var fresh = link.cloneNode(false);
    var href = link.href.replace(/([?&])_reloadproxy=\d+&?/, '$1').replace(/[?&]$/, '');
    fresh.href = href + (href.indexOf('?') >= 0 ? '&' : '?') + '_reloadproxy=' + Date.now();
    link.__reloadproxyOld = true;
    var done = false;
    function finish() {
      if (done) return;
      done = true;
      if (link.parentNode) link.parentNode.removeChild(link);
    }
    fresh.onload = finish;
    fresh.onerror = finish;
    setTimeout(finish, 5000); // some browsers fire neither for cached sheets
    parent.insertBefore(fresh, link.nextSibling);
  }
