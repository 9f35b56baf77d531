// The officer app's service worker: the app's own files are kept, so the app opens in a dead
// zone; each is fetched from the network first (a new version shows at once) and taken from
// the cache when the network is away. The platform's API (`api/`, `/v1/`) is never cached.
const CACHE = 'kj-officer-app-1';
const SHELL = [
  './',
  'index.html',
  'app.css',
  'manifest.webmanifest',
  'icons/icon.svg',
  'icons/icon-192.png',
  'app/dom.js',
  'app/i18n.js',
  'app/link.js',
  'app/main.js',
  'app/map.js',
  'app/orders.js',
  'app/outbox.js',
  'app/positions.js',
  'app/session.js',
  'app/sheet.js',
  'vendor/leaflet/leaflet-src.esm.js',
  'vendor/leaflet/leaflet.css',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const scope = new URL(self.registration.scope);
  if (event.request.method !== 'GET' || url.origin !== scope.origin) return;
  if (!url.pathname.startsWith(scope.pathname) || url.pathname.startsWith(`${scope.pathname}api/`)) return;
  event.respondWith(
    fetch(event.request)
      .then((answer) => {
        if (answer.ok) {
          const copy = answer.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return answer;
      })
      .catch(() => caches.match(event.request).then((kept) => kept || caches.match('./'))),
  );
});
