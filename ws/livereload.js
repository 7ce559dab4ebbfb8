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

  function isStylesheet(link) {
    return (' ' + (link.rel || '').toLowerCase() + ' ').indexOf(' stylesheet ') >= 0 && link.href;
  }

  function segments(p) {
    return p.split('/').filter(function (s) { return s !== ''; });
  }

  function matchLength(href, want) {
    var have;
    try { have = segments(decodeURIComponent(new URL(href, location.href).pathname)); } catch (e) { return 0; }
    var n = 0;
    while (n < have.length && n < want.length && have[have.length - 1 - n] === want[want.length - 1 - n]) n++;
    return n;
  }

  // reloadCSS swaps the stylesheets best matching path (all if none does);
  // the old one goes once the new one has loaded.
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
    setTimeout(finish, 5000);
    parent.insertBefore(fresh, link.nextSibling);
  }

  window.addEventListener('pageshow', function (ev) { if (ev.persisted) { delay = 100; connect(); } });

  connect();
})();
