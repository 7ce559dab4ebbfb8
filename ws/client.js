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
    var want = segments(path), links = document.getElementsByTagName('link');
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

  // A page restored from the back/forward cache has a dead socket and may be
  // stale; reconnecting checks the generation.
  window.addEventListener('pageshow', function (ev) { if (ev.persisted) { delay = 100; connect(); } });

  connect();
})();
