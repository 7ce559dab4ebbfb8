// Runs client.js (argv[2]) or livereload.js in a fake browser and checks its
// behaviour. Prints "ok" or the failures, one a line.
//
// Each scenario gets a fresh page: a small fake DOM (elements, text nodes,
// shadow roots, querySelector for the selectors the clients use, event
// listeners, a rough layout for offsetTop and scrolling), a fake WebSocket,
// timers, sessionStorage and a console that records anything written.
// innerHTML and its relatives throw: the clients must build DOM from text.
'use strict';
const fs = require('fs');
const vm = require('vm');

const file = process.argv[2];
const live = /livereload\.js$/.test(file);
const src = fs.readFileSync(file, 'utf8');
const failures = [];
let scenario = '';
function check(cond, what) { if (!cond) failures.push((scenario ? scenario + ': ' : '') + what); }

const LINE = 16; // px per line of text in the fake layout

function textNode(data) {
  return { nodeType: 3, data: String(data), parentNode: null, get textContent() { return this.data; } };
}

function el(tag) {
  const e = {
    nodeType: 1, tagName: tag.toUpperCase(), attrs: {}, children: [], parentNode: null,
    rel: '', href: '', src: '', id: '', listeners: {}, shadow: null, shadowMode: null, scrollTop: 0,
    style: {
      props: {}, priority: {},
      setProperty(k, v, p) { this.props[k] = String(v); this.priority[k] = p || ''; },
    },
    setAttribute(k, v) { this.attrs[k] = String(v); if (k === 'id') this.id = String(v); },
    getAttribute(k) { return k === 'id' ? this.id || null : (k in this.attrs ? this.attrs[k] : null); },
    appendChild(c) {
      if (c.parentNode) c.parentNode.removeChild(c);
      c.parentNode = this;
      this.children.push(c);
      return c;
    },
    insertBefore(c, ref) {
      if (c.parentNode) c.parentNode.removeChild(c);
      c.parentNode = this;
      const i = ref ? this.children.indexOf(ref) : -1;
      if (i < 0) this.children.push(c); else this.children.splice(i, 0, c);
      return c;
    },
    removeChild(c) {
      const i = this.children.indexOf(c);
      if (i < 0) throw new Error('removeChild: not a child');
      this.children.splice(i, 1);
      c.parentNode = null;
      return c;
    },
    get nextSibling() {
      if (!this.parentNode) return null;
      const s = this.parentNode.children;
      return s[s.indexOf(this) + 1] || null;
    },
    cloneNode() { const c = el(this.tagName); c.rel = this.rel; c.href = this.href; return c; },
    attachShadow(opts) {
      if (this.shadow) throw new Error('attachShadow twice');
      this.shadowMode = opts && opts.mode;
      this.shadow = el('#shadow-root');
      this.shadow.host = this;
      return this.shadow;
    },
    addEventListener(type, fn, capture) { (this.listeners[type] = this.listeners[type] || []).push({ fn, capture: !!capture }); },
    removeEventListener(type, fn, capture) {
      this.listeners[type] = (this.listeners[type] || []).filter((l) => l.fn !== fn || l.capture !== !!capture);
    },
    get textContent() { return this.children.map((c) => c.textContent).join(''); },
    set textContent(t) { this.children.forEach((c) => { c.parentNode = null; }); this.children = []; if (t !== '') this.appendChild(textNode(t)); },
    set innerHTML(_) { throw new Error('innerHTML used'); },
    get innerHTML() { throw new Error('innerHTML used'); },
    set outerHTML(_) { throw new Error('outerHTML used'); },
    insertAdjacentHTML() { throw new Error('insertAdjacentHTML used'); },
    // Layout: every line of text is LINE px high; an element's offsetTop is
    // the lines before it in its parent (its offsetParent, as a positioned
    // <pre> is for the overlay's lines).
    get offsetTop() {
      if (!this.parentNode) return 0;
      const s = this.parentNode.children;
      return LINE * s.slice(0, s.indexOf(this)).map((c) => c.textContent).join('').split('\n').length - LINE;
    },
    get clientHeight() { return 10 * LINE; },
    get scrollHeight() { return LINE * this.textContent.split('\n').length; },
  };
  return e;
}

// walk calls f on every element under root, shadow trees included.
function walk(root, f) {
  for (const c of root.children) {
    if (c.nodeType !== 1) continue;
    f(c);
    walk(c, f);
    if (c.shadow) walk(c.shadow, f);
  }
}

// matches supports what the clients query: tag, [attr], [attr="v"],
// [attr*="v"], and comma-separated lists.
function matches(e, selector) {
  return selector.split(',').some((sel) => {
    const m = /^([a-z-]*)((?:\[[^\]]+\])*)$/i.exec(sel.trim());
    if (!m) throw new Error('selector not supported by the fake DOM: ' + sel);
    if (m[1] && e.tagName !== m[1].toUpperCase()) return false;
    const attrs = m[2].match(/\[[^\]]+\]/g) || [];
    return attrs.every((a) => {
      const am = /^\[([a-z-]+)(?:(\*?=)"([^"]*)")?\]$/i.exec(a);
      if (!am) throw new Error('attribute selector not supported: ' + a);
      const v = am[1] === 'src' ? e.src : am[1] === 'id' ? e.id : e.attrs[am[1]];
      if (v === undefined || v === null || v === '' && am[1] !== 'id' && !(am[1] in e.attrs)) return false;
      if (!am[2]) return true;
      return am[2] === '=' ? v === am[3] : v.indexOf(am[3]) >= 0;
    });
  });
}

class FakeWebSocket {
  constructor(url) { this.url = url; this.sent = []; this.page.sockets.push(this); }
  send(d) { this.sent.push(d); }
  open() { if (this.onopen) this.onopen({}); }
  msg(o) { this.onmessage({ data: JSON.stringify(o) }); }
  drop() { this.onclose({}); }
}

// newPage loads the script (twice, as a page may include it twice) into a
// fresh page; setup(page) runs first and may add elements or globals.
function newPage(setup) {
  const html = el('html');
  const head = html.appendChild(el('head'));
  const body = html.appendChild(el('body'));
  const page = {
    html, head, body, sockets: [], timers: [], reloads: 0, storage: {}, logged: [], listeners: {}, defined: {},
    get socket() { return this.sockets[this.sockets.length - 1]; },
    fire() { const t = this.timers.shift(); t.f(); return t.ms; },
    find(f) { let r = null; walk(html, (e) => { if (!r && f(e)) r = e; }); return r; },
    byId(id) { return this.find((e) => e.id === id); },
    key(k) {
      const ev = { key: k, keyCode: k === 'Escape' ? 27 : 0, stopped: false, stopPropagation() { this.stopped = true; } };
      for (const l of (this.listeners.keydown || []).slice()) l.fn(ev);
      return ev;
    },
  };
  const quiet = {};
  for (const k of ['log', 'info', 'warn', 'error', 'debug']) quiet[k] = (...x) => page.logged.push(k + ': ' + x.join(' '));
  class WS extends FakeWebSocket {}
  WS.prototype.page = page;
  const sandbox = {
    WebSocket: WS,
    location: {
      protocol: 'http:', host: 'localhost:8000', hostname: 'localhost', href: 'http://localhost:8000/page',
      reload() { page.reloads++; },
    },
    sessionStorage: { getItem: (k) => (k in page.storage ? page.storage[k] : null), setItem: (k, v) => { page.storage[k] = String(v); } },
    document: {
      head, body, documentElement: html,
      currentScript: { src: 'http://localhost:35729/livereload.js?snipver=1' },
      createElement: el,
      createTextNode: textNode,
      getElementsByTagName: (t) => { const r = []; walk(html, (e) => { if (e.tagName === t.toUpperCase()) r.push(e); }); return r; },
      querySelector: (sel) => page.find((e) => matches(e, sel)),
      write() { throw new Error('document.write used'); },
    },
    customElements: { get: (name) => page.defined[name], define: (name, c) => { page.defined[name] = c; } },
    setTimeout: (f, ms) => { page.timers.push({ f, ms }); return page.timers.length; },
    clearTimeout: () => {},
    addEventListener: (type, fn, capture) => { (page.listeners[type] = page.listeners[type] || []).push({ fn, capture: !!capture }); },
    removeEventListener: (type, fn, capture) => {
      page.listeners[type] = (page.listeners[type] || []).filter((l) => l.fn !== fn || l.capture !== !!capture);
    },
    console: quiet,
    URL, JSON, Math, Date, String, Object,
  };
  sandbox.window = sandbox;
  page.window = sandbox;
  if (setup) setup(page);
  vm.runInNewContext(src, sandbox);
  vm.runInNewContext(src, sandbox); // injected twice: must connect once
  check(page.sockets.length === 1, 'one socket, got ' + page.sockets.length);
  return page;
}

function run(name, f) {
  scenario = name;
  try { f(); } catch (e) { failures.push(name + ': ' + (e.stack || e)); }
  scenario = '';
}

// connected returns a page whose socket is open and greeted with hello
// for generation gen (stored as the page's generation).
function connected(setup, gen) {
  const p = newPage(setup);
  p.socket.open();
  p.socket.msg({ type: 'hello', generation: gen === undefined ? 5 : gen, kind: 'restart' });
  check(p.reloads === 0, 'first hello reloads');
  return p;
}

function silent(p) { check(p.logged.length === 0, 'console output: ' + p.logged.join('; ')); }

// cssSwap checks the stylesheet swap, the same for both clients: the
// matching stylesheet is swapped (the clone goes in after it with a cache
// buster, the old one leaves once the new one loaded); with no match,
// every stylesheet is refreshed.
function cssSwap(p, send) {
  const a = p.head.appendChild(el('link'));
  a.rel = 'stylesheet'; a.href = 'http://localhost:8000/static/app.css?v=1';
  const b = p.head.appendChild(el('link'));
  b.rel = 'stylesheet'; b.href = 'http://localhost:8000/static/other.css';
  const reloads = p.reloads;
  send('static/app.css');
  check(p.reloads === reloads, 'css change reloaded the page');
  const links = p.head.children;
  check(links.length === 3, 'links after swap: ' + links.length);
  const fresh = links[1];
  check(links[0] === a && /static\/app\.css\?v=1&_reloadproxy=\d+$/.test(fresh.href), 'fresh link ' + fresh.href);
  check(links[2] === b, 'other stylesheet untouched');
  fresh.onload();
  check(p.head.children.length === 2 && p.head.children[0] === fresh, 'old link removed after load');
  send('x/none.css');
  check(p.head.children.length === 4, 'all refreshed when none matches: ' + p.head.children.length);
}

if (live) {
  run('livereload.js', () => {
    const p = newPage();
    const s = p.socket;
    check(s.url === 'ws://localhost:35729/livereload', 'url ' + s.url);
    s.open();
    const hello = JSON.parse(s.sent[0]);
    check(hello.command === 'hello' && hello.protocols.indexOf('http://livereload.com/protocols/official-7') >= 0, 'hello ' + s.sent[0]);
    s.msg({ command: 'hello', protocols: ['http://livereload.com/protocols/official-7'], serverName: 'reloadproxy' });
    s.msg({ command: 'reload', path: '/', liveCSS: true });
    check(p.reloads === 1, 'reload /');
    cssSwap(p, (path) => s.msg({ command: 'reload', path, liveCSS: true }));
    silent(p);
  });
} else {
  run('connection', () => {
    const p = newPage();
    let s = p.socket;
    check(s.url === 'ws://localhost:8000/.reloadproxy/ws', 'url ' + s.url);
    s.open();
    s.msg({ type: 'hello', generation: 5, kind: 'restart' });
    check(p.reloads === 0, 'first hello reloads');
    check(p.storage['reloadproxy.generation'] === '5', 'generation not stored');

    // Reconnect with backoff; a hello with the same generation does nothing.
    s.drop();
    check(p.timers.length === 1 && p.timers[0].ms === 100, 'first retry after 100 ms');
    p.fire();
    p.socket.drop(); check(p.timers[0].ms === 200, 'backoff doubles: ' + p.timers[0].ms); p.fire();
    for (let i = 0; i < 10; i++) { p.socket.drop(); p.fire(); }
    p.socket.drop();
    check(p.timers[0].ms === 3000, 'backoff capped at 3 s: ' + p.timers[0].ms);
    p.fire();
    s = p.socket;
    s.msg({ type: 'hello', generation: 5, kind: 'change' });
    check(p.reloads === 0, 'same generation reloads');
    // Missed a restart while away: reload.
    s.drop(); p.fire(); s = p.socket;
    s.msg({ type: 'hello', generation: 6, kind: 'restart' });
    check(p.reloads === 1, 'changed generation on reconnect does not reload');
    check(p.storage['reloadproxy.generation'] === '6', 'generation 6 not stored');
    // A hello from an older server (no kind) reloads too.
    s.drop(); p.fire(); s = p.socket;
    s.msg({ type: 'hello', generation: 7 });
    check(p.reloads === 2, 'hello without kind does not reload');

    s.msg({ type: 'restarting' });
    const badge = p.byId('reloadproxy-badge');
    check(badge && badge.style.props.position === 'fixed' && badge.style.props['pointer-events'] === 'none' &&
      badge.style.priority.position === 'important', 'badge');
    check(badge && badge.shadowMode === 'closed' && badge.shadow.textContent === 'restarting\u2026', 'badge text');
    s.msg({ type: 'restarting' });
    check(p.body.children.length === 1, 'one badge');
    s.msg({ type: 'reload', generation: 8, kind: 'restart' });
    check(p.reloads === 3 && p.storage['reloadproxy.generation'] === '8', 'reload message');
    check(!p.byId('reloadproxy-badge'), 'badge left after reload');
    cssSwap(p, (path) => s.msg({ type: 'css', path }));
    silent(p);
  });

  // Pages with a dev server's own client: how each one shows, set up after
  // ours loaded (the page's client may start after ours).
  const own = [
    ['vite script', (p) => { const s = p.head.appendChild(el('script')); s.setAttribute('type', 'module'); s.src = 'http://localhost:8000/@vite/client'; }],
    ['vite script under a base', (p) => { p.head.appendChild(el('script')).src = 'http://localhost:8000/app/@vite/client'; }],
    ['vite overlay element', (p) => { p.defined['vite-error-overlay'] = function () {}; }],
    ['webpack 5 HMR', (p) => { p.window['webpackHotUpdatemy_app'] = function () {}; }],
    ['webpack 4 HMR', (p) => { p.window.webpackHotUpdate = function () {}; }],
    ['next dev with webpack', (p) => { p.window.webpackHotUpdate_N_E = function () {}; p.window.__next_f = []; }],
    ['webpack-hot-middleware', (p) => { p.window.__whmEventSourceWrapper = { '/__webpack_hmr': {} }; }],
    ['next dev pages router', (p) => { p.window.__NEXT_DATA__ = { props: {}, page: '/', buildId: 'development' }; }],
    ['next dev overlay', (p) => { const s = p.body.appendChild(el('script')); s.setAttribute('data-nextjs-dev-overlay', 'true'); s.appendChild(el('nextjs-portal')).attachShadow({ mode: 'open' }); }],
    ['next dev portal', (p) => { p.body.appendChild(el('nextjs-portal')); }],
    ['turbopack', (p) => { p.window.TURBOPACK_CHUNK_UPDATE_LISTENERS = { push() {} }; p.window.TURBOPACK = []; }],
    ['livereload-js', (p) => { p.window.LiveReload = { connector: {} }; }],
    ['browser-sync', (p) => { p.window.___browserSync___ = { socket: {} }; }],
  ];
  // Look-alikes that are not a running client: ours must reload.
  const none = [
    ['nothing', () => {}],
    ['vite client of a backend integration', (p) => { p.head.appendChild(el('script')).src = 'http://localhost:5173/@vite/client'; p.defined['vite-error-overlay'] = function () {}; }],
    ['webpack production chunks', (p) => { p.window.webpackChunkmy_app = []; }],
    ['webpackHotUpdate not a function', (p) => { p.window.webpackHotUpdateX = 'x'; }],
    ['next production', (p) => { p.window.__NEXT_DATA__ = { buildId: 'Qx1_abc' }; p.window.__next_f = []; }],
    ['livereload.js tag alone', (p) => { p.head.appendChild(el('script')).src = 'http://localhost:35729/livereload.js'; }],
    ['browser-sync snippet alone', (p) => { p.body.appendChild(el('script')).id = '__bs_script__'; }],
    ['our own livereload.js', (p) => { p.window.__reloadproxyLiveReload = true; }],
    ['a throwing getter', (p) => { Object.defineProperty(p.window, '__NEXT_DATA__', { get() { throw new Error('no'); }, enumerable: true }); }],
  ];
  for (const [name, setup] of own.concat(none)) {
    const hasOwn = own.some((o) => o[0] === name);
    run('change with ' + name, () => {
      const p = connected();
      setup(p);
      p.socket.msg({ type: 'restarting' });
      p.socket.msg({ type: 'reload', generation: 6, kind: 'change' });
      check(p.reloads === (hasOwn ? 0 : 1), (hasOwn ? 'change reloaded' : 'change not reloaded') + ': ' + p.reloads);
      check(p.storage['reloadproxy.generation'] === '6', 'generation not stored');
      check(!p.byId('reloadproxy-badge'), 'badge left');
      // A restart or a failure always reloads.
      p.socket.msg({ type: 'reload', generation: 7, kind: 'restart' });
      check(p.reloads === (hasOwn ? 1 : 2), 'restart not reloaded');
      p.socket.msg({ type: 'reload', generation: 8, kind: 'failure' });
      check(p.reloads === (hasOwn ? 2 : 3), 'failure not reloaded');
      p.socket.msg({ type: 'reload', generation: 9 });
      check(p.reloads === (hasOwn ? 3 : 4), 'reload without kind not reloaded');
      silent(p);
    });
    run('missed change with ' + name, () => {
      const p = connected();
      setup(p);
      p.socket.drop(); p.fire();
      p.socket.msg({ type: 'hello', generation: 6, kind: 'change' });
      check(p.reloads === (hasOwn ? 0 : 1), 'hello after a missed change: ' + p.reloads);
      check(p.storage['reloadproxy.generation'] === '6', 'generation not stored');
      p.socket.drop(); p.fire();
      p.socket.msg({ type: 'hello', generation: 7, kind: 'restart' });
      check(p.reloads === (hasOwn ? 1 : 2), 'hello after a missed restart');
      p.socket.drop(); p.fire();
      p.socket.msg({ type: 'hello', generation: 8, kind: 'failure' });
      check(p.reloads === (hasOwn ? 2 : 3), 'hello after a missed failure');
    });
  }

  const ESC = '\x1b';
  const fail = {
    type: 'build-failed', command: 'go build -o app .', exit: 'exit 2',
    output: '# example\r\n' + 'building <b>bold</b> & <script>x()</script>\n' +
      ESC + '[1;31m./main.go:5:2:' + ESC + '[0m undefined: ' + ESC + '[38;5;208mx' + ESC + '[39m\n' +
      'plain ' + ESC + '[38;2;10;20;300mtrue' + ESC + '[38:2::1:2:3mcolon' + ESC + '[48;5;196m' + ESC + '[97mbg' + ESC + '[m end\n' +
      ESC + '[2K' + ESC + '[1G' + ESC + ']0;title' + '\x07' + ESC + ']8;;file:///x' + ESC + '\\' + 'link' + ESC + ']8;;' + '\x07' +
      ' bell\x07 back\b del\x7f c1\u009b31m' + ESC + '(B' + ESC + '[?25l' + ESC + '[>4;2m' + ESC + '=' + ' tab\tend\r\n' +
      '10%\r20%\n' + ESC + '[4mu' + ESC + '[24m' + ESC + '[',
  };
  const wantText = '# example\n' + 'building <b>bold</b> & <script>x()</script>\n' +
    './main.go:5:2: undefined: x\n' + 'plain truecolonbg end\n' + 'link bell back del c131m tab\tend\n' + '10%\n20%\n' + 'u';

  // overlay returns the overlay's parts, or null.
  function overlay(p) {
    const host = p.byId('reloadproxy-overlay');
    if (!host) return null;
    let pre = null, button = null, title = null;
    walk(host.shadow, (e) => {
      if (e.tagName === 'PRE') pre = e;
      if (e.tagName === 'BUTTON') button = e;
      if (!title && e.tagName === 'DIV' && e.children.length === 1 && e.children[0].nodeType === 3) title = e;
    });
    return { host, pre, button, title };
  }
  // spans returns the styled runs of pre: [text, style props].
  function spans(pre) {
    return pre.children.filter((c) => c.nodeType === 1 && c.textContent !== '').map((c) => [c.textContent, c.style.props]);
  }

  run('overlay', () => {
    const p = connected();
    p.socket.msg({ type: 'building' });
    check(p.byId('reloadproxy-badge') && p.byId('reloadproxy-badge').shadow.textContent === 'building\u2026', 'building badge');
    p.socket.msg(fail);
    check(!p.byId('reloadproxy-badge'), 'badge left after build-failed');
    const o = overlay(p);
    check(o && o.pre && o.button && o.title, 'overlay parts');
    if (!o || !o.pre) return;
    check(o.host.shadowMode === 'closed', 'shadow root not closed: ' + o.host.shadowMode);
    check(o.host.parentNode === p.body, 'overlay not in body');
    const hs = o.host.style;
    check(hs.props.position === 'fixed' && hs.props['z-index'] === '2147483647' && hs.props.all === 'initial' &&
      hs.props.top === '0' && hs.props.bottom === '0' && hs.props.left === '0' && hs.props.right === '0' &&
      hs.priority['z-index'] === 'important', 'overlay host style ' + JSON.stringify(hs.props));
    check(o.title.textContent === 'build failed (exit 2): go build -o app .', 'title ' + JSON.stringify(o.title.textContent));
    check(o.pre.textContent === wantText, 'text:\n' + JSON.stringify(o.pre.textContent) + '\nwant\n' + JSON.stringify(wantText));
    // Markup in the output stays text: no element but our spans.
    let tags = new Set();
    walk(o.pre, (e) => tags.add(e.tagName));
    check([...tags].join() === 'SPAN', 'elements in the output: ' + [...tags].join());
    check(o.pre.children.some((c) => c.nodeType === 3 && c.data.indexOf('<b>bold</b>') >= 0), '<b> not a text node');
    const got = JSON.stringify(spans(o.pre));
    const want = JSON.stringify([
      ['./main.go:5:2:', { color: '#f55', 'font-weight': 'bold' }],
      ['x', { color: 'rgb(255,135,0)' }],
      ['true', { color: 'rgb(10,20,255)' }],
      ['colon', { color: 'rgb(1,2,3)' }],
      ['bg', { color: '#fff', background: 'rgb(255,0,0)' }],
      ['u', { 'text-decoration': 'underline' }],
    ]);
    check(got === want, 'spans:\n' + got + '\nwant\n' + want);
    // Scrolled to the first error line: "./main.go:5:2:" is line 3 (0-based 2).
    check(o.pre.scrollTop === Math.max(0, 2 * LINE - 40), 'scrollTop ' + o.pre.scrollTop);
    check((p.listeners.keydown || []).length === 1, 'keydown listener');

    // Dismissed with the button; the same failure again stays dismissed,
    // another one shows.
    o.button.listeners.click[0].fn({});
    check(!overlay(p), 'button did not close');
    check((p.listeners.keydown || []).length === 0, 'keydown listener left');
    p.socket.msg(fail);
    check(!overlay(p), 'dismissed failure shown again');
    p.socket.msg(Object.assign({}, fail, { output: 'all fine\nstill fine\n' }));
    const o2 = overlay(p);
    check(o2 && o2.pre.textContent === 'all fine\nstill fine', 'second failure');
    // No error line: scrolled to the end.
    check(o2 && o2.pre.scrollTop === o2.pre.scrollHeight, 'scrollTop without error ' + (o2 && o2.pre.scrollTop));

    // Escape closes it.
    const other = p.key('Enter');
    check(overlay(p) && !other.stopped, 'Enter closed');
    const ev = p.key('Escape');
    check(!overlay(p) && ev.stopped, 'Escape did not close');
    check((p.listeners.keydown || []).length === 0, 'keydown listener left after Escape');
    silent(p);
  });

  run('overlay scrolled to the first error', () => {
    const lines = [];
    for (let i = 0; i < 20; i++) lines.push('step ' + i + ' ok');
    lines.push('\x1b[31mpanic\x1b[0m: boom', 'later: error again');
    for (let i = 0; i < 10; i++) lines.push('goroutine ' + i);
    const p = connected();
    p.socket.msg({ type: 'build-failed', command: 'make', exit: 'killed by SIGSEGV', output: lines.join('\n') + '\n' });
    const o = overlay(p);
    check(o && o.title.textContent === 'build failed (killed by SIGSEGV): make', 'title');
    // Line 20 is first: 40 px of context above it stay visible.
    check(o && o.pre.scrollTop === 20 * LINE - 40, 'scrollTop ' + (o && o.pre.scrollTop) + ', want ' + (20 * LINE - 40));
    for (const [out, line] of [['a\nb\nc\nd\ne\nf\ng\nx.go:1:2: y\n', 7], ['1\n2\n3\n4\n5\n6\n7\nBuild FAILED\n', 7], ['1\n2\n3\n4\n5\n6\n7\n8\nError: no\n', 8]]) {
      p.socket.msg({ type: 'build-failed', command: 'make', exit: '', output: out });
      const o2 = overlay(p);
      check(o2 && o2.pre.scrollTop === line * LINE - 40, JSON.stringify(out) + ': scrollTop ' + (o2 && o2.pre.scrollTop));
      check(o2 && o2.title.textContent === 'build failed: make', 'title without exit');
    }
  });

  run('overlay and reconnects', () => {
    const p = connected(null, 5);
    p.socket.msg(fail);
    const o = overlay(p);
    // Same generation: the failure replayed after hello keeps the overlay.
    p.socket.drop(); p.fire();
    p.socket.msg({ type: 'hello', generation: 5, kind: 'restart' });
    p.socket.msg(fail);
    check(overlay(p) && overlay(p).host === o.host, 'overlay redrawn for the same failure');
    check(p.body.children.length === 1, 'overlays: ' + p.body.children.length);
    // Another generation: a reload was missed; the failure went with it.
    p.socket.drop(); p.fire();
    p.socket.msg({ type: 'hello', generation: 6, kind: 'change' });
    check(p.reloads === 1 && !overlay(p), 'overlay after a missed reload');
    silent(p);
  });

  for (const kind of ['change', 'restart', 'failure']) {
    run('overlay removed by a ' + kind + ' reload', () => {
      const p = connected(own[0][1]); // Vite: a change does not navigate
      p.socket.msg(fail);
      check(overlay(p), 'no overlay');
      p.socket.msg({ type: 'reload', generation: 6, kind });
      check(!overlay(p), 'overlay left');
      check(p.reloads === (kind === 'change' ? 0 : 1), 'reloads ' + p.reloads);
      check((p.listeners.keydown || []).length === 0, 'keydown listener left');
      // After a reload, a failure dismissed before shows again.
      p.socket.msg(fail);
      p.key('Escape');
      p.socket.msg({ type: 'reload', generation: 7, kind: 'change' });
      p.socket.msg(fail);
      check(overlay(p), 'failure after a reload not shown');
    });
  }

  run('overlay without shadow DOM', () => {
    const p = connected((pg) => { pg.body.attachShadow = undefined; });
    const orig = p.window.document.createElement;
    p.window.document.createElement = (t) => { const e = orig(t); e.attachShadow = undefined; return e; };
    p.socket.msg(fail);
    const host = p.byId('reloadproxy-overlay');
    let pre = null;
    if (host) walk(host, (e) => { if (e.tagName === 'PRE') pre = e; });
    check(pre && pre.textContent === wantText, 'overlay in light DOM');
  });
}

console.log(failures.length ? failures.join('\n') : 'ok');
