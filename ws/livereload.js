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

  function onMessage(m, ws) {
    if (m.command === 'hello') {
      conn.connected();
      ws.send(JSON.stringify({ command: 'info', url: location.href, plugins: {} }));
    } else if (m.command === 'reload') {
      var path = String(m.path || '');
      if (m.liveCSS !== false && /\.css$/i.test(path.split('?')[0])) reloadCSS(path);
      else location.reload();
    }
  }

  /* common.js */

  var conn = keepConnected(url, {
    open: function (ws) { ws.send(JSON.stringify({ command: 'hello', protocols: [PROTOCOL] })); },
    message: onMessage
  });
})();
