// reloadproxy's LiveReload protocol v7 client, served on /livereload.js of
// the LiveReload port. Plain ES5, no dependencies, silent.
(function () {
  'use strict';
  if (window.__reloadproxyLiveReload || !window.WebSocket) return;
  window.__reloadproxyLiveReload = true;

  var PROTOCOL = 'http://livereload.com/protocols/official-7';

  // Connect to the host and port this script was loaded from.
  function origin() {
    var s = document.currentScript, scripts, i;
    if (!s || !/\/livereload\.js(\?|#|$)/.test(s.src || '')) {
      s = null;
      scripts = document.getElementsByTagName('script');
      for (i = 0; i < scripts.length; i++) {
        if (/\/livereload\.js(\?|#|$)/.test(scripts[i].src || '')) { s = scripts[i]; break; }
      }
    }
    try {
      var u = new URL(s.src, location.href);
      return (u.protocol === 'https:' ? 'wss://' : 'ws://') + u.host;
    } catch (e) {
      return 'ws://' + (location.hostname || 'localhost') + ':35729';
    }
  }

  var url = origin() + '/livereload';
  var delay = 100, sock = null, timer = null;

  function connect() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (sock) return;
    var ws;
    try { ws = new WebSocket(url); } catch (e) { retry(); return; }
    sock = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ command: 'hello', protocols: [PROTOCOL] }));
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m) return;
      if (m.command === 'hello') {
        delay = 100;
        ws.send(JSON.stringify({ command: 'info', url: location.href, plugins: {} }));
      } else if (m.command === 'reload') {
        var path = String(m.path || '');
        if (m.liveCSS !== false && /\.css$/i.test(path.split('?')[0])) reloadCSS(path);
        else location.reload();
      }
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

  /* stylesheets.js */

  window.addEventListener('pageshow', function (ev) { if (ev.persisted) { delay = 100; connect(); } });

  connect();
})();
