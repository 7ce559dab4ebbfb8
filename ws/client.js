// reloadproxy live reload client. Served on /.reloadproxy/client.js and
// injected into HTML pages. Plain ES5, no dependencies, silent.
(function () {
  'use strict';
  if (window.__reloadproxy || !window.WebSocket) return;
  window.__reloadproxy = true;

  var KEY = 'reloadproxy.generation';
  var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/.reloadproxy/ws';
  var delay = 100; // reconnect backoff, doubling to 3 s
  var generation = null; // the last generation this page saw
  var badge = null;
  var sock = null, timer = null;

  // The generation survives the reload it causes (sessionStorage is per tab),
  // so a page loaded just before a restart whose reload it missed notices the
  // change in the hello of its first connection.
  function stored() {
    try { return sessionStorage.getItem(KEY); } catch (e) { return null; }
  }
  function store(g) {
    generation = String(g);
    try { sessionStorage.setItem(KEY, generation); } catch (e) { /* private mode, sandbox */ }
  }

  function reload(g) {
    store(g);
    location.reload();
  }

  function connect() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (sock) return;
    var ws;
    try { ws = new WebSocket(url); } catch (e) { retry(); return; }
    sock = ws;
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m) return;
      switch (m.type) {
        case 'hello':
          delay = 100;
          var last = generation !== null ? generation : stored();
          if (last !== null && last !== String(m.generation)) reload(m.generation);
          else store(m.generation);
          break;
        case 'reload':
          reload(m.generation);
          break;
        case 'restarting':
          showBadge();
          break;
        case 'css':
          reloadCSS(String(m.path || ''));
          break;
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

  function showBadge() {
    if (badge) return;
    badge = document.createElement('div');
    badge.id = 'reloadproxy-badge';
    badge.setAttribute('style', 'all:initial!important;position:fixed!important;right:8px!important;' +
      'bottom:8px!important;z-index:2147483647!important;pointer-events:none!important;display:block!important');
    var css = 'font:12px/1.4 system-ui,-apple-system,sans-serif;color:#fff;background:rgba(40,40,40,.85);' +
      'padding:3px 8px;border-radius:4px;display:block';
    var label = document.createElement('span');
    label.textContent = 'restarting\u2026';
    if (badge.attachShadow) {
      var root = badge.attachShadow({ mode: 'closed' });
      var style = document.createElement('style');
      style.textContent = 'span{' + css + '}';
      root.appendChild(style);
      root.appendChild(label);
    } else {
      label.setAttribute('style', css);
      badge.appendChild(label);
    }
    (document.body || document.documentElement).appendChild(badge);
  }

  /* stylesheets.js */

  // A page restored from the back/forward cache has a dead socket and may be
  // stale; reconnecting checks the generation.
  window.addEventListener('pageshow', function (ev) { if (ev.persisted) { delay = 100; connect(); } });

  connect();
})();
