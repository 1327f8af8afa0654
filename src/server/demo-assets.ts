// Static assets of the demo site (`crcsync serve --demo`): the stylesheet and
// script a news front page would load. They do not change between requests;
// the page and the feed do (demo-site.ts).

export const DEMO_CSS = `/* The Daily Delta: front page styles */
:root {
  --ink: #1d1d1f;
  --muted: #5f6368;
  --rule: #d9d9de;
  --paper: #fffdf8;
  --accent: #b3261e;
  --accent-soft: #fbe9e7;
  --link: #174ea6;
  --radius: 6px;
  --column: 72rem;
  font-family: "Source Serif Pro", Georgia, "Times New Roman", serif;
  color: var(--ink);
  background: var(--paper);
}

*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; line-height: 1.5; }
a { color: var(--link); text-decoration: none; }
a:hover, a:focus-visible { text-decoration: underline; }
img { max-width: 100%; height: auto; display: block; }

.masthead { border-bottom: 3px double var(--ink); padding: 1rem 1.5rem 0.5rem; text-align: center; }
.masthead h1 { font-size: clamp(2rem, 5vw, 3.5rem); margin: 0; letter-spacing: -0.02em; }
.masthead .edition { display: flex; justify-content: space-between; font: 0.8rem/1.4 system-ui, sans-serif; color: var(--muted); }
.masthead .weather::before { content: "\\2600"; margin-right: 0.25rem; }

.sections { display: flex; gap: 1rem; justify-content: center; flex-wrap: wrap; padding: 0.5rem 1rem; border-bottom: 1px solid var(--rule); font: 600 0.85rem system-ui, sans-serif; text-transform: uppercase; }
.sections a { color: var(--ink); }
.sections a[aria-current="page"] { color: var(--accent); }

.ticker { background: var(--accent-soft); color: var(--accent); font: 600 0.9rem system-ui, sans-serif; padding: 0.4rem 1.5rem; display: flex; gap: 0.75rem; align-items: center; }
.ticker .label { background: var(--accent); color: white; padding: 0.1rem 0.5rem; border-radius: var(--radius); }
.ticker time { color: var(--muted); font-weight: 400; }

.layout { max-width: var(--column); margin: 0 auto; padding: 1.5rem; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 1fr); gap: 2rem; }
@media (max-width: 56rem) { .layout { grid-template-columns: 1fr; } }

.top-stories { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1.25rem; border-bottom: 1px solid var(--rule); padding-bottom: 1.5rem; margin-bottom: 1.5rem; }
.top-stories article:first-child { grid-column: 1 / -1; }
.top-stories article:first-child h2 { font-size: 2rem; }
.top-stories h2 { font-size: 1.2rem; line-height: 1.2; margin: 0.25rem 0; }

.story { padding: 1rem 0; border-bottom: 1px solid var(--rule); }
.story h3 { margin: 0 0 0.25rem; font-size: 1.15rem; line-height: 1.25; }
.story p { margin: 0.25rem 0; color: #333; }
.kicker { font: 700 0.75rem system-ui, sans-serif; text-transform: uppercase; letter-spacing: 0.05em; color: var(--accent); }
.meta { font: 0.8rem system-ui, sans-serif; color: var(--muted); display: flex; gap: 0.75rem; flex-wrap: wrap; }
.meta .points::after { content: " points"; }
.meta .comments::after { content: " comments"; }

aside h2 { font: 700 0.9rem system-ui, sans-serif; text-transform: uppercase; border-bottom: 2px solid var(--ink); padding-bottom: 0.25rem; }
.most-read { counter-reset: rank; list-style: none; padding: 0; margin: 0 0 2rem; }
.most-read li { counter-increment: rank; display: grid; grid-template-columns: 2rem 1fr; padding: 0.5rem 0; border-bottom: 1px solid var(--rule); }
.most-read li::before { content: counter(rank); font: 700 1.5rem Georgia, serif; color: var(--accent); }
.most-read .views { display: block; font: 0.75rem system-ui, sans-serif; color: var(--muted); }

.ad-slot { border: 1px dashed var(--rule); border-radius: var(--radius); padding: 1rem; text-align: center; font: 0.85rem system-ui, sans-serif; color: var(--muted); margin-bottom: 2rem; }
.ad-slot strong { display: block; color: var(--ink); font-size: 1rem; margin-bottom: 0.25rem; }
.ad-slot .cta { display: inline-block; margin-top: 0.5rem; padding: 0.3rem 0.9rem; background: var(--ink); color: white; border-radius: var(--radius); }

.newsletter form { display: flex; gap: 0.5rem; }
.newsletter input[type="email"] { flex: 1; padding: 0.4rem; border: 1px solid var(--rule); border-radius: var(--radius); }
.newsletter button { padding: 0.4rem 0.8rem; border: 0; border-radius: var(--radius); background: var(--accent); color: white; cursor: pointer; }

.site-footer { border-top: 3px double var(--ink); margin-top: 2rem; padding: 1.5rem; font: 0.8rem system-ui, sans-serif; color: var(--muted); display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 1rem; }
.site-footer ul { list-style: none; padding: 0; margin: 0; }
.site-footer li { margin: 0.2rem 0; }
.site-footer .generated { grid-column: 1 / -1; text-align: center; }

@media (prefers-color-scheme: dark) {
  :root { --ink: #ececf1; --muted: #a0a4ab; --rule: #3a3b40; --paper: #121214; --accent: #ff8a80; --accent-soft: #2c1816; --link: #8ab4f8; }
  .story p { color: #cfd0d4; }
}
`;

export const DEMO_JS = `// The Daily Delta: small progressive enhancements for the front page.
(function () {
  'use strict';

  var MINUTE = 60 * 1000;

  /** Rewrites every <time data-ago> as "N min ago", relative to now. */
  function refreshRelativeTimes() {
    var now = Date.now();
    var nodes = document.querySelectorAll('time[data-ago]');
    for (var i = 0; i < nodes.length; i++) {
      var then = Date.parse(nodes[i].getAttribute('datetime'));
      if (isNaN(then)) continue;
      var minutes = Math.max(0, Math.round((now - then) / MINUTE));
      nodes[i].textContent = minutes < 60 ? minutes + ' min ago'
        : minutes < 1440 ? Math.round(minutes / 60) + ' h ago'
        : Math.round(minutes / 1440) + ' d ago';
    }
  }

  /** Polls the JSON feed and shows a banner when new stories are out. */
  function watchFeed() {
    var newest = document.querySelector('[data-story-id]');
    if (!newest || !window.fetch) return;
    var known = Number(newest.getAttribute('data-story-id'));
    setInterval(function () {
      fetch('/feed.json', { headers: { accept: 'application/feed+json' } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (feed) {
          if (!feed || !feed.items || !feed.items.length) return;
          var latest = Number(feed.items[0].id);
          if (latest > known) showBanner(latest - known);
        })
        .catch(function () { /* offline: try again next time */ });
    }, 2 * MINUTE);
  }

  function showBanner(count) {
    var banner = document.getElementById('new-stories');
    if (!banner) {
      banner = document.createElement('button');
      banner.id = 'new-stories';
      banner.className = 'ticker';
      banner.addEventListener('click', function () { location.reload(); });
      document.body.insertBefore(banner, document.body.firstChild);
    }
    banner.textContent = count + (count === 1 ? ' new story' : ' new stories') + ' - click to refresh';
  }

  /** Keeps the newsletter form from posting when the address is obviously wrong. */
  function guardNewsletter() {
    var form = document.querySelector('.newsletter form');
    if (!form) return;
    form.addEventListener('submit', function (event) {
      var input = form.querySelector('input[type="email"]');
      if (!input || !/^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/.test(input.value)) {
        event.preventDefault();
        input && input.focus();
      }
    });
  }

  /** Remembers which section tab the reader used last. */
  function rememberSection() {
    var links = document.querySelectorAll('.sections a');
    for (var i = 0; i < links.length; i++) {
      links[i].addEventListener('click', function (event) {
        try { localStorage.setItem('daily-delta-section', event.currentTarget.textContent); } catch (e) { /* private mode */ }
      });
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    refreshRelativeTimes();
    setInterval(refreshRelativeTimes, MINUTE);
    watchFeed();
    guardNewsletter();
    rememberSection();
  });
})();
`;
