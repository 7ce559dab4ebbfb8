// reloadproxy live reload client. Served on /.reloadproxy/client.js and
// injected into HTML pages. Plain ES5, no dependencies, silent.
(function () {
  'use strict';
  if (window.__reloadproxy || !window.WebSocket) return;
  window.__reloadproxy = true;

  var KEY = 'reloadproxy.generation';
  var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/.reloadproxy/ws';
  var generation = null; // the last generation this page saw
  var badge = null;

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

  function onMessage(m) {
    switch (m.type) {
      case 'hello':
        conn.connected();
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

  /* common.js */

  var conn = keepConnected(url, { message: onMessage });
})();
