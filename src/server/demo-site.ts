// The built-in demo site (`crcsync serve --demo`): a news front page and a
// JSON feed that change on every request the way busy sites do (clock,
// counters, rotating ad and ticker, re-ranked "most read", a new story every
// few requests) while most of their bytes stay, plus a stylesheet and a
// script. Deterministic: the text comes from a seeded generator and time from
// an injectable clock, so tests can predict what changes. No network.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DEMO_CSS, DEMO_JS } from './demo-assets';
import { HeaderMap } from './headers';
import { Origin, OriginResponse } from './origin';

export interface DemoSiteOptions {
  /** Seeds the story text and numbers (default 1). */
  seed?: number;
  /** Milliseconds since the epoch (default Date.now); inject a fake clock in tests. */
  now?: () => number;
  /** A new story appears every this many page/feed requests (default 4). */
  newStoryEvery?: number;
}

const STORIES_ON_PAGE = 40;
const TOP_STORIES = 5;
const FEED_ITEMS = 30;
const MOST_READ = 8;

const SECTIONS = ['World', 'Politics', 'Business', 'Technology', 'Science', 'Health', 'Culture', 'Sport'];
const AUTHORS = ['Ada Brennan', 'Tomás Ruiz', 'Mei Chen', 'Kwame Mensah', 'Ingrid Halvorsen', 'Priya Natarajan', 'Jonas Weber', 'Lucía Ortega', 'Samir Haddad', 'Noor Rahman'];
const SUBJECTS = ['The city council', 'A regional court', 'Researchers', 'The central bank', 'Rail operators', 'Farmers', 'A new startup', 'The health ministry', 'Museum curators', 'Coastal towns', 'The league', 'Engineers', 'Teachers', 'Local volunteers', 'Energy regulators', 'The port authority'];
const VERBS = ['approves', 'questions', 'delays', 'unveils', 'rethinks', 'doubles', 'defends', 'tests', 'expands', 'pauses', 'funds', 'reviews', 'maps', 'rebuilds', 'cuts', 'studies'];
const OBJECTS = ['a plan for night trains', 'the harbour bridge repairs', 'a four-day school week', 'rules on rooftop solar', 'the budget for flood defences', 'a vaccine for seasonal flu', 'the open-data portal', 'ticket prices', 'a heat-pump subsidy', 'the old observatory', 'cycle lanes downtown', 'a youth football academy', 'the water-quality report', 'a archive of folk songs', 'broadband for villages', 'the tram extension'];
const WORDS = ('according officials said the proposal would take effect next spring after a period of consultation with residents and businesses ' +
  'critics argued that costs had been underestimated while supporters pointed to similar schemes abroad that paid for themselves within a decade ' +
  'the figures published on tuesday show a steady rise over three years although the pace slowed in the most recent quarter analysts expect ' +
  'further detail when the full report is released later this month many questions remain about funding staffing and how progress will be measured').split(' ');
const TICKER = ['Storm warning extended for the northern coast', 'Markets open higher after rate decision', 'Transit strike called off after late-night talks', 'Election results expected before midnight', 'Power restored to most homes after outage', 'Final set to go to extra time', 'Bridge closed for inspection until Friday', 'Heatwave advice issued for the weekend'];
const ADS = [
  ['Spring sale on garden furniture', 'Up to 40% off teak and rattan sets, delivered free.', 'Shop the sale'],
  ['Learn a language in 10 minutes a day', 'Short lessons, real conversations, first month free.', 'Start learning'],
  ['Fixed-rate savings at 4.1%', 'Lock in today; no fees, instant access after 12 months.', 'Open an account'],
  ['Weekend in the mountains', 'Two nights, breakfast and a guided hike from 189.', 'See dates'],
  ['The thriller everyone is reading', 'Now in paperback and audio, narrated by the author.', 'Read a sample'],
];

/** mulberry32: small, fast, good enough for demo text (the tests' fixtures use it too). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!);
}

interface Story {
  id: number;
  section: string;
  title: string;
  summary: string;
  body: string;
  author: string;
  published: number;
}

function sentence(random: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(pick(random, WORDS));
  const text = out.join(' ');
  return `${text[0].toUpperCase()}${text.slice(1)}.`;
}

export class DemoSite {
  private readonly seed: number;
  private readonly now: () => number;
  private readonly newStoryEvery: number;
  private readonly stories = new Map<number, Story>();
  private readonly firstStoryId: number;
  private tick = 0;

  constructor(options: DemoSiteOptions = {}) {
    this.seed = options.seed ?? 1;
    this.now = options.now ?? Date.now;
    this.newStoryEvery = Math.max(1, options.newStoryEvery ?? 4);
    this.firstStoryId = 1000 + (this.seed % 1000);
    const start = this.now();
    // The initial stories were published every 17 minutes before start.
    for (let index = 0; index < STORIES_ON_PAGE; index++) {
      const id = this.firstStoryId + index;
      this.stories.set(id, this.makeStory(id, start - (STORIES_ON_PAGE - index) * 17 * 60_000));
    }
  }

  /** Ids of the stories on the page, newest first. */
  private advance(): { tick: number; time: number; ids: number[] } {
    const tick = ++this.tick;
    const time = this.now();
    const newest = this.firstStoryId + STORIES_ON_PAGE - 1 + Math.floor(tick / this.newStoryEvery);
    if (!this.stories.has(newest)) this.stories.set(newest, this.makeStory(newest, time));
    // Keep a bounded archive: stories that fell off the page and feed are dropped.
    for (const id of this.stories.keys()) if (id <= newest - STORIES_ON_PAGE) this.stories.delete(id);
    const ids: number[] = [];
    for (let id = newest; id > newest - STORIES_ON_PAGE; id--) ids.push(id);
    return { tick, time, ids };
  }

  private makeStory(id: number, published: number): Story {
    const random = seededRandom(this.seed * 7919 + id);
    const title = `${pick(random, SUBJECTS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)}`;
    const summary = `${sentence(random, 18)} ${sentence(random, 14)}`;
    const body = [sentence(random, 22), sentence(random, 16), sentence(random, 20), sentence(random, 12)].join(' ');
    return { id, section: pick(random, SECTIONS), title, summary, body, author: pick(random, AUTHORS), published };
  }

  private story(id: number): Story {
    return this.stories.get(id)!;
  }

  /** Points and comments of a story at a tick: grow with age and per request, differently per story. */
  private counters(id: number, tick: number): { points: number; comments: number; views: number } {
    const random = seededRandom(this.seed * 104729 + id * 31 + tick);
    const age = Math.max(1, this.firstStoryId + STORIES_ON_PAGE + tick - id);
    return {
      points: 20 + age * 7 + Math.floor(random() * 25),
      comments: Math.floor(age * 1.5 + random() * 6),
      views: 1000 + age * 431 + Math.floor(random() * 5000),
    };
  }

  /** The front page (`/`), tens of KB of HTML. */
  renderPage(): string {
    const { tick, time, ids } = this.advance();
    const random = seededRandom(this.seed * 31 + tick);
    const iso = new Date(time).toISOString();
    const requestId = createHash('sha1').update(`${this.seed}:${tick}`).digest('hex').slice(0, 16);
    const ad = ADS[tick % ADS.length];
    const minutesAgo = (story: Story) => Math.max(0, Math.round((time - story.published) / 60_000));
    const meta = (story: Story) => {
      const counts = this.counters(story.id, tick);
      return `<div class="meta"><span class="author">${escapeHtml(story.author)}</span><time datetime="${new Date(story.published).toISOString()}" data-ago>${minutesAgo(story)} min ago</time><span class="points">${counts.points}</span><span class="comments">${counts.comments}</span></div>`;
    };
    const top = ids.slice(0, TOP_STORIES).map((id) => {
      const story = this.story(id);
      return `      <article data-story-id="${story.id}">
        <span class="kicker">${story.section}</span>
        <h2><a href="/story/${story.id}">${escapeHtml(story.title)}</a></h2>
        <p>${escapeHtml(story.summary)}</p>
        ${meta(story)}
      </article>`;
    });
    // Below the fold only the age changes per request, once a minute at most.
    const rest = ids.slice(TOP_STORIES).map((id) => {
      const story = this.story(id);
      return `      <article class="story" id="s${story.id}">
        <span class="kicker">${story.section}</span>
        <h3><a href="/story/${story.id}">${escapeHtml(story.title)}</a></h3>
        <p>${escapeHtml(story.summary)}</p>
        <p>${escapeHtml(story.body)}</p>
        <div class="meta"><span class="author">By ${escapeHtml(story.author)}</span><time datetime="${new Date(story.published).toISOString()}" data-ago>${minutesAgo(story)} min ago</time></div>
      </article>`;
    });
    const mostRead = ids
      .slice(0, 20)
      .map((id) => ({ story: this.story(id), views: this.counters(id, tick).views }))
      .sort((a, b) => b.views - a.views || a.story.id - b.story.id)
      .slice(0, MOST_READ)
      .map(({ story, views }) => `        <li><a href="/story/${story.id}">${escapeHtml(story.title)}</a><span class="views">${views.toLocaleString('en-US')} readers</span></li>`);
    const sectionLinks = SECTIONS.map((name, index) => `<a href="/section/${name.toLowerCase()}"${index === 0 ? ' aria-current="page"' : ''}>${name}</a>`).join('\n      ');
    const footerColumns = ['About us', 'Contact', 'Careers', 'Corrections', 'Privacy', 'Terms of use', 'Accessibility', 'Archive', 'RSS & JSON feeds', 'Advertise', 'Newsletters', 'Help'];
    return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>The Daily Delta: front page</title>
  <meta name="description" content="News from the city and the world, updated around the clock.">
  <meta name="request-id" content="${requestId}">
  <link rel="stylesheet" href="/static/site.css">
  <link rel="alternate" type="application/feed+json" href="/feed.json" title="The Daily Delta">
  <script src="/static/app.js" defer></script>
</head>
<body>
  <header class="masthead">
    <div class="edition"><span>Updated <time datetime="${iso}">${iso.slice(11, 19)} UTC</time></span><span class="weather">${12 + Math.floor(random() * 9)}&deg;C, ${pick(random, ['sunny', 'cloudy', 'light rain', 'windy'])}</span><span>${Math.floor(800 + random() * 400)} readers online</span></div>
    <h1>The Daily Delta</h1>
  </header>
  <nav class="sections">
      ${sectionLinks}
  </nav>
  <div class="ticker" role="status"><span class="label">Live</span><span>${TICKER[tick % TICKER.length]}</span><time datetime="${iso}">${iso.slice(11, 16)}</time></div>
  <div class="layout">
    <main>
    <section class="top-stories">
${top.join('\n')}
    </section>
    <section class="latest">
${rest.join('\n')}
    </section>
    </main>
    <aside>
      <h2>Most read</h2>
      <ol class="most-read">
${mostRead.join('\n')}
      </ol>
      <div class="ad-slot" data-impression="${requestId}"><strong>${ad[0]}</strong>${ad[1]}<br><a class="cta" href="/ads/${tick % ADS.length}?imp=${requestId}">${ad[2]}</a></div>
      <section class="newsletter">
        <h2>Morning briefing</h2>
        <p>The five stories you need, before breakfast. Free, every weekday.</p>
        <form action="/newsletter" method="post"><input type="email" name="email" placeholder="you@example.org" required><button type="submit">Sign up</button></form>
      </section>
    </aside>
  </div>
  <footer class="site-footer">
    <ul>${footerColumns.slice(0, 4).map((label) => `<li><a href="/about#${label.toLowerCase().replace(/\W+/g, '-')}">${label}</a></li>`).join('')}</ul>
    <ul>${footerColumns.slice(4, 8).map((label) => `<li><a href="/legal#${label.toLowerCase().replace(/\W+/g, '-')}">${label}</a></li>`).join('')}</ul>
    <ul>${footerColumns.slice(8).map((label) => `<li><a href="/${label.toLowerCase().replace(/\W+/g, '-')}">${label}</a></li>`).join('')}</ul>
    <p class="generated">Page ${tick} generated at ${iso} by crcsync demo (seed ${this.seed}). &copy; The Daily Delta.</p>
  </footer>
</body>
</html>
`;
  }

  /** The JSON feed (`/feed.json`, JSON Feed 1.1), pretty-printed as many sites serve it. */
  renderFeed(): string {
    const { tick, time, ids } = this.advance();
    const items = ids.slice(0, FEED_ITEMS).map((id, index) => {
      const story = this.story(id);
      const item: Record<string, unknown> = {
        id: String(story.id),
        url: `http://127.0.0.1/story/${story.id}`,
        title: story.title,
        summary: story.summary,
        content_text: `${story.summary} ${story.body}`,
        date_published: new Date(story.published).toISOString(),
        authors: [{ name: story.author }],
        tags: [story.section.toLowerCase()],
      };
      // Only the freshest stories carry live counters, as comment-count widgets do.
      if (index < TOP_STORIES) item._engagement = this.counters(story.id, tick);
      return item;
    });
    return `${JSON.stringify(
      {
        version: 'https://jsonfeed.org/version/1.1',
        title: 'The Daily Delta',
        home_page_url: 'http://127.0.0.1/',
        feed_url: 'http://127.0.0.1/feed.json',
        _generated: { at: new Date(time).toISOString(), request: tick, ticker: TICKER[tick % TICKER.length] },
        items,
      },
      null,
      2,
    )}\n`;
  }
}

const ASSETS: Record<string, { type: string; body: Buffer; etag: string }> = Object.fromEntries(
  [
    ['/static/site.css', 'text/css; charset=utf-8', DEMO_CSS],
    ['/static/app.js', 'application/javascript; charset=utf-8', DEMO_JS],
  ].map(([path, type, text]) => {
    const body = Buffer.from(text);
    return [path, { type, body, etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"` }];
  }),
);

function response(status: number, headers: Record<string, string>, body: Buffer | null, head: boolean): OriginResponse {
  const map: HeaderMap = new Map(Object.entries(headers));
  if (body) map.set('content-length', String(body.length));
  return { status, headers: map, body: body && !head ? Readable.from([body]) : null };
}

/** The demo site as an origin: `/`, `/feed.json`, `/static/site.css`, `/static/app.js`. */
export function demoOrigin(site: DemoSite = new DemoSite()): Origin {
  return async (req) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/' || path === '/index.html' || path === '/feed.json' || path in ASSETS;
    if (!known) return null;
    if (method !== 'GET' && method !== 'HEAD') return response(405, { allow: 'GET, HEAD' }, null, true);
    const head = method === 'HEAD';
    const asset = ASSETS[path];
    if (asset) {
      return response(200, { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'public, max-age=60' }, asset.body, head);
    }
    // Page and feed are dynamic: no validator, revalidate every time (a crcsync client then sends If-Block).
    const isFeed = path === '/feed.json';
    const body = Buffer.from(isFeed ? site.renderFeed() : site.renderPage());
    const type = isFeed ? 'application/feed+json; charset=utf-8' : 'text/html; charset=utf-8';
    return response(200, { 'content-type': type, 'cache-control': 'no-cache' }, body, head);
  };
}
