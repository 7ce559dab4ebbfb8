// reloadproxy live reload client. Served on /.reloadproxy/client.js and
// injected into HTML pages. Plain ES5, no dependencies, silent.
(function () {
  'use strict';
  if (window.__reloadproxy || !window.WebSocket) return;
  window.__reloadproxy = true;

  var KEY = 'reloadproxy.generation';
  var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/.reloadproxy/ws';
  var generation = null; // the last generation this page saw
  var badge = null; // {host, label}
  var overlay = null; // {host, key}
  var dismissed = null; // key of the failure the user closed

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

  // settle acts on a reload message, or on a hello announcing one this page
  // missed: it reloads, unless only files changed and the page has its own
  // live-update client, which then handles them (keeping the page's state).
  function settle(m) {
    hideBadge();
    hideOverlay();
    dismissed = null;
    store(m.generation);
    if (m.kind !== 'change' || !pageClient()) location.reload();
  }

  function onMessage(m) {
    switch (m.type) {
      case 'hello':
        conn.connected();
        var last = generation !== null ? generation : stored();
        if (last !== null && last !== String(m.generation)) settle(m);
        else store(m.generation);
        break;
      case 'reload':
        settle(m);
        break;
      case 'restarting':
        showBadge('restarting\u2026');
        break;
      case 'building':
        showBadge('building\u2026');
        break;
      case 'build-failed':
        hideBadge();
        showFailure(m);
        break;
      case 'css':
        reloadCSS(String(m.path || ''));
        break;
    }
  }

  // pageClient reports whether the page runs a dev server's own client for
  // file changes. Asked when a change arrives: that client may start after
  // this one. Only signs that the client actually runs count, not a script
  // tag alone (a stale snippet whose server is gone must not stop reloads).
  function pageClient() {
    var w = window, d = document, k, i;
    try {
      // Vite: client.ts imports overlay.ts, which defines the custom element
      // vite-error-overlay; the dev server puts <script type="module"
      // src="/@vite/client"> into index.html. A Vite client from another
      // origin belongs to a backend integration (Laravel, Django, Rails):
      // it updates assets, not this page's HTML, which stays ours to reload.
      var vite = d.querySelector('script[src*="/@vite/client"]');
      if (vite) return new URL(vite.src, location.href).host === location.host;
      if (w.customElements && w.customElements.get('vite-error-overlay')) return true;
      // webpack-hot-middleware's client.js keeps its EventSource in
      // window.__whmEventSourceWrapper. Turbopack's hmr-client.ts (next dev,
      // the default in Next.js 16) sets TURBOPACK_CHUNK_UPDATE_LISTENERS.
      // livereload-js's startup.js sets window.LiveReload; browser-sync's
      // served client starts with window.___browserSync___ = {}.
      if (w.__whmEventSourceWrapper || w.TURBOPACK_CHUNK_UPDATE_LISTENERS || w.LiveReload || w.___browserSync___) return true;
      // next dev: buildId is hard-coded 'development'; its dev overlay
      // mounts <script data-nextjs-dev-overlay><nextjs-portal>.
      if (w.__NEXT_DATA__ && w.__NEXT_DATA__.buildId === 'development') return true;
      if (d.querySelector('nextjs-portal,script[data-nextjs-dev-overlay]')) return true;
      // webpack HMR (webpack-dev-server, webpack-hot-middleware, next dev
      // with webpack, rspack): the JSONP HMR runtime defines
      // self["webpackHotUpdate" + uniqueName] as a function (webpack 5
      // JsonpChunkLoadingRuntimeModule; webpack 4 had window.webpackHotUpdate).
      k = Object.keys(w);
      for (i = 0; i < k.length; i++) {
        if (k[i].lastIndexOf('webpackHotUpdate', 0) === 0 && typeof w[k[i]] === 'function') return true;
      }
    } catch (e) { /* a throwing getter: reload */ }
    return false;
  }

  // style sets declarations ("a:b;c:d") one by one through the CSSOM, which
  // a page's Content-Security-Policy does not block (style attributes and
  // <style> elements it may).
  function style(el, css, important) {
    var a = css.split(';'), i, j;
    for (i = 0; i < a.length; i++) {
      j = a[i].indexOf(':');
      if (j > 0) el.style.setProperty(a[i].slice(0, j), a[i].slice(j + 1), important ? 'important' : '');
    }
    return el;
  }

  function make(tag, css, text) {
    var el = style(document.createElement(tag), css || '');
    if (text) el.textContent = text;
    return el;
  }

  // layer returns a fixed host element with a closed shadow root (where
  // supported), so that the page's CSS can neither hide nor restyle it.
  function layer(id, css) {
    var host = style(document.createElement('div'), 'all:initial;position:fixed;z-index:2147483647;display:block;' + css, true);
    host.id = id;
    var root = host.attachShadow ? host.attachShadow({ mode: 'closed' }) : host;
    (document.body || document.documentElement).appendChild(host);
    return { host: host, root: root };
  }

  function remove(el) {
    if (el.parentNode) el.parentNode.removeChild(el);
  }

  function showBadge(text) {
    if (!badge) {
      badge = layer('reloadproxy-badge', 'right:8px;bottom:8px;pointer-events:none');
      badge.label = badge.root.appendChild(make('span', 'font:12px/1.4 system-ui,sans-serif;color:#fff;' +
        'background:rgba(40,40,40,.85);padding:3px 8px;border-radius:4px;display:block'));
    }
    badge.label.textContent = text;
  }

  function hideBadge() {
    if (badge) remove(badge.host);
    badge = null;
  }

  // showFailure shows a failed build over the page until it is closed (the
  // button, Escape) or a reload message arrives. Text goes in through
  // textContent only: the output is shown, never parsed as HTML.
  function showFailure(m) {
    var key = m.command + '\n' + m.exit + '\n' + m.output;
    if (key === dismissed || (overlay && overlay.key === key)) return;
    hideOverlay();
    var o = layer('reloadproxy-overlay', 'left:0;top:0;right:0;bottom:0');
    var mono = 'font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;';
    var panel = o.root.appendChild(make('div', mono + 'position:absolute;left:0;top:0;right:0;bottom:0;' +
      'display:flex;flex-direction:column;background:rgba(24,24,24,.97);color:#ddd;border-top:4px solid #e55'));
    var head = panel.appendChild(make('div', 'display:flex;align-items:flex-start;padding:10px 16px;border-bottom:1px solid #444'));
    head.appendChild(make('div', 'flex:1;color:#f77;font-weight:bold;white-space:pre-wrap;word-break:break-word',
      'build failed' + (m.exit ? ' (' + m.exit + ')' : '') + ': ' + (m.command || '')));
    var close = head.appendChild(make('button', mono + 'font-size:18px;line-height:1;margin-left:12px;padding:2px 8px;' +
      'cursor:pointer;color:#ddd;background:#333;border:1px solid #555;border-radius:4px', '\u00d7'));
    close.setAttribute('type', 'button');
    close.setAttribute('title', 'Close (Esc)');
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', dismiss);
    var pre = panel.appendChild(make('pre', mono + 'margin:0;padding:10px 16px;flex:1;overflow:auto;position:relative;' +
      'white-space:pre-wrap;word-break:break-word'));
    var first = render(String(m.output || ''), pre);
    overlay = { host: o.host, key: key };
    window.addEventListener('keydown', onKey, true);
    // Show the first error rather than the tail of a long log.
    pre.scrollTop = first ? Math.max(0, first.offsetTop - 40) : pre.scrollHeight;
  }

  function onKey(e) {
    if (e.key === 'Escape' || e.keyCode === 27) {
      e.stopPropagation();
      dismiss();
    }
  }

  function dismiss() {
    if (overlay) dismissed = overlay.key;
    hideOverlay();
  }

  function hideOverlay() {
    if (!overlay) return;
    window.removeEventListener('keydown', onKey, true);
    remove(overlay.host);
    overlay = null;
  }

  // Terminal output: SGR sequences (ESC [ ... m) become styles; other CSI,
  // OSC (hyperlinks, titles), DCS/PM/APC, two-byte escapes and control
  // characters but tab and newline are dropped.
  var CTRL = /\x1b\[([0-?]*)([ -\/]*)([@-~])|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(\x1b\\)?|\x1b[ -\/]*[0-~]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
  var ERROR = /error|failed|panic|:\d+:\d+/i;
  var COLORS = ['#666', '#f55', '#5d5', '#dd5', '#68f', '#d6d', '#5cc', '#ddd',
    '#999', '#f88', '#8f8', '#ff8', '#9bf', '#f9f', '#8ff', '#fff'];

  // render appends text to pre, styled, and returns an empty marker put at
  // the start of the first line that looks like an error (null if none).
  function render(text, pre) {
    var lines = text.replace(/\r\n?/g, '\n').split('\n'), st = {}, first = null, i, line, m, at, plain, parts, j;
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    for (i = 0; i < lines.length; i++) {
      line = lines[i] + (i < lines.length - 1 ? '\n' : '');
      parts = [];
      plain = '';
      at = 0;
      CTRL.lastIndex = 0;
      while ((m = CTRL.exec(line))) {
        if (m.index > at) parts.push(line.slice(at, m.index), css(st));
        if (m[3] === 'm' && !m[2] && /^[\d;:]*$/.test(m[1])) sgr(st, m[1]);
        at = CTRL.lastIndex;
      }
      if (at < line.length) parts.push(line.slice(at), css(st));
      for (j = 0; j < parts.length; j += 2) plain += parts[j];
      if (!first && ERROR.test(plain)) first = pre.appendChild(document.createElement('span'));
      for (j = 0; j < parts.length; j += 2) {
        pre.appendChild(parts[j + 1] ? make('span', parts[j + 1], parts[j]) : document.createTextNode(parts[j]));
      }
    }
    return first;
  }

  function css(st) {
    return (st.fg ? 'color:' + st.fg + ';' : '') + (st.bg ? 'background:' + st.bg + ';' : '') +
      (st.b ? 'font-weight:bold;' : '') + (st.d ? 'opacity:.7;' : '') +
      (st.i ? 'font-style:italic;' : '') + (st.u ? 'text-decoration:underline;' : '');
  }

  // sgr applies the parameters p of one SGR sequence to the style st.
  function sgr(st, p) {
    var a = p.split(';'), i, v, c, x;
    for (i = 0; i < a.length; i++) {
      v = a[i].split(':');
      c = +v[0] || 0;
      if (c === 0) { st.fg = st.bg = null; st.b = st.d = st.i = st.u = false; }
      else if (c === 1) st.b = true;
      else if (c === 2) st.d = true;
      else if (c === 3) st.i = true;
      else if (c === 4) st.u = true;
      else if (c === 22) st.b = st.d = false;
      else if (c === 23) st.i = false;
      else if (c === 24) st.u = false;
      else if (c >= 30 && c <= 37) st.fg = COLORS[c - 30];
      else if (c >= 90 && c <= 97) st.fg = COLORS[c - 82];
      else if (c === 39) st.fg = null;
      else if (c >= 40 && c <= 47) st.bg = COLORS[c - 40];
      else if (c >= 100 && c <= 107) st.bg = COLORS[c - 92];
      else if (c === 49) st.bg = null;
      else if (c === 38 || c === 48) {
        // 38;5;n, 38;2;r;g;b, or with colons 38:5:n, 38:2:[space]:r:g:b.
        x = v.length > 1 ? extended(v, 1, v.length > 5) : extended(a, i + 1, false);
        if (v.length === 1) i += x[1];
        if (c === 38) st.fg = x[0]; else st.bg = x[0];
      }
    }
  }

  // extended reads a 256-colour or truecolor from v[j...]; it returns the
  // colour (null if invalid) and how many parameters it used.
  function extended(v, j, space) {
    var n = +v[j + 1], k = j + (space ? 2 : 1);
    if (v[j] === '5') {
      if (!(n >= 0 && n < 256)) return [null, 2];
      n = n | 0;
      if (n < 16) return [COLORS[n], 2];
      if (n > 231) return [rgb(8 + (n - 232) * 10, 8 + (n - 232) * 10, 8 + (n - 232) * 10), 2];
      n -= 16;
      return [rgb(cube((n / 36) | 0), cube(((n / 6) | 0) % 6), cube(n % 6)), 2];
    }
    if (v[j] === '2') return [rgb(+v[k], +v[k + 1], +v[k + 2]), 4];
    return [null, v.length];
  }

  function cube(x) { return x ? 55 + x * 40 : 0; }

  function rgb(r, g, b) {
    return 'rgb(' + [r, g, b].map(function (x) { return Math.max(0, Math.min(255, x | 0)); }).join(',') + ')';
  }

  /* common.js */

  var conn = keepConnected(url, { message: onMessage });
})();
