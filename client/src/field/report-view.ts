/**
 * Report (上报): photo (shrunk on the phone), GPS fix with its accuracy and a draggable pin,
 * category by search or from the recent ones, the grid cell of the point and likely duplicates
 * nearby, a note, send — into the outbox, which sends it now or when the connection returns.
 */
import { h } from '../dom';
import { type Category, type FieldCase, gridAt, type LonLat, openCasesNear } from './api';
import type { CellsMap } from './cells-map';
import type { FieldContext } from './context';
import { metersBetween, myCellAt } from './geo';
import { localName, t } from './i18n';
import { compressPhoto } from './photo';

const RECENT_KEY = 'citygrid.field.recentCategories';
const DUPLICATE_RADIUS_M = 50;

interface Draft {
  photo: Blob | null;
  photoUrl: string | null;
  location: LonLat | null;
  accuracy: number | null;
  category: Category | null;
  note: string;
  search: string;
}

let draft: Draft = emptyDraft();

function emptyDraft(): Draft {
  return {
    photo: null,
    photoUrl: null,
    location: null,
    accuracy: null,
    category: null,
    note: '',
    search: '',
  };
}

function recentCodes(): string[] {
  try {
    return JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]') as string[];
  } catch {
    return [];
  }
}

function rememberCategory(code: string): void {
  localStorage.setItem(
    RECENT_KEY,
    JSON.stringify([code, ...recentCodes().filter((c) => c !== code)].slice(0, 6)),
  );
}

export function renderReport(view: HTMLElement, ctx: FieldContext): void {
  let map: CellsMap | undefined;
  const preview = h('div', { class: 'photo-preview', 'data-testid': 'report-photo-preview' });
  const photoInput = h('input', {
    type: 'file',
    accept: 'image/*',
    capture: 'environment',
    'data-testid': 'report-photo',
  });
  const locationText = h('span', { 'data-testid': 'report-location' });
  const gridText = h('span', { 'data-testid': 'report-grid' });
  const mapBox = h('div', { class: 'mini-map', 'data-testid': 'report-map' });
  const search = h('input', {
    type: 'search',
    placeholder: t('report.categorySearch'),
    'data-testid': 'report-category-search',
    value: draft.search,
  });
  const options = h('div', { class: 'chips', 'data-testid': 'report-category-options' });
  const recent = h('div', { class: 'chips', 'data-testid': 'report-category-recent' });
  const selected = h('div', { class: 'selected', 'data-testid': 'report-category-selected' });
  const duplicates = h('div', { class: 'duplicates', 'data-testid': 'report-duplicates' });
  const note = h('textarea', {
    rows: 3,
    placeholder: t('report.notePlaceholder'),
    'data-testid': 'report-note',
  });
  note.value = draft.note;
  const message = h('p', { class: 'form-error', 'data-testid': 'report-message' });
  const send = h(
    'button',
    { type: 'button', class: 'primary big', 'data-testid': 'report-send' },
    t('report.send'),
  );

  const showPhoto = () => {
    preview.replaceChildren(draft.photoUrl ? h('img', { src: draft.photoUrl, alt: '' }) : '');
    if (draft.photo)
      preview.append(h('small', {}, `${t('report.photoReady')} · ${Math.round(draft.photo.size / 1024)} KB`));
  };

  let lookup = 0;
  const showLocation = async () => {
    const p = draft.location;
    if (!p) {
      locationText.textContent = t('report.noFix');
      return;
    }
    locationText.textContent = `${p.lon.toFixed(6)}, ${p.lat.toFixed(6)}${draft.accuracy !== null ? ` · ${t('report.accuracy')} ±${Math.round(draft.accuracy)} m` : ''}`;
    map?.setPin(p);
    const mine = myCellAt(ctx.cells, p);
    gridText.textContent = mine
      ? `${mine.name} (${mine.code}) · ${t('report.gridMine')}`
      : t('report.gridUnknown');
    const ticket = ++lookup;
    if (navigator.onLine) {
      const cell = await gridAt(ctx.request, p).catch(() => undefined);
      if (ticket !== lookup || cell === undefined) return;
      gridText.textContent = cell
        ? `${cell.name} (${cell.code})${ctx.cells.some((c) => c.id === cell.id) ? ` · ${t('report.gridMine')}` : ''}`
        : t('report.gridUnknown');
      gridText.dataset.gridCode = cell?.code ?? '';
    }
    void showDuplicates();
  };

  const showDuplicates = async () => {
    const p = draft.location;
    const category = draft.category;
    duplicates.replaceChildren();
    if (!p || !category || !navigator.onLine) return;
    const ticket = lookup;
    const near: FieldCase[] = await openCasesNear(
      ctx.request,
      p,
      category.code,
      DUPLICATE_RADIUS_M + 10,
    ).catch(() => []);
    if (ticket !== lookup || draft.category !== category) return;
    const within = near
      .map((c) => ({ c, d: metersBetween(p, c.location) }))
      .filter((x) => x.d <= DUPLICATE_RADIUS_M)
      .sort((a, b) => a.d - b.d);
    duplicates.replaceChildren(
      h('h3', {}, t('report.duplicates')),
      within.length === 0
        ? h('p', { class: 'muted' }, t('report.noDuplicates'))
        : h(
            'ul',
            {},
            ...within.map(({ c, d }) =>
              h(
                'li',
                { 'data-duplicate-id': c.id },
                `${c.code} · ${t(`status.${c.status}`)} · ${Math.round(d)} m · ${c.description}`,
              ),
            ),
          ),
    );
  };

  const locate = () => {
    if (!('geolocation' in navigator)) return;
    locationText.textContent = t('report.locating');
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        draft.location = { lon: pos.coords.longitude, lat: pos.coords.latitude };
        draft.accuracy = pos.coords.accuracy;
        void showLocation();
      },
      (error) => {
        locationText.textContent = `${t('report.noFix')} (${error.message})`;
      },
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 5_000 },
    );
  };

  const chip = (c: Category) =>
    h(
      'button',
      {
        type: 'button',
        class: draft.category?.code === c.code ? 'chip active' : 'chip',
        'data-category': c.code,
        onclick: () => {
          draft.category = c;
          showCategories();
          void showDuplicates();
        },
      },
      `${localName(c)} · ${c.code}`,
    );

  const showCategories = () => {
    const q = search.value.trim().toLowerCase();
    draft.search = search.value;
    const matches = q
      ? ctx.categories.filter(
          (c) =>
            c.code.includes(q) ||
            c.name.toLowerCase().includes(q) ||
            c.nameEn.toLowerCase().includes(q) ||
            c.keywords.some((k) => k.toLowerCase().includes(q)),
        )
      : [];
    options.replaceChildren(...matches.slice(0, 12).map(chip));
    const recents = recentCodes()
      .map((code) => ctx.categories.find((c) => c.code === code))
      .filter((c): c is Category => !!c);
    recent.replaceChildren(
      ...(recents.length ? [h('small', {}, t('report.recent')), ...recents.map(chip)] : []),
    );
    selected.textContent = draft.category ? `${localName(draft.category)} (${draft.category.code})` : '';
  };

  photoInput.addEventListener('change', async () => {
    const file = photoInput.files?.[0];
    if (!file) return;
    draft.photo = await compressPhoto(file).catch(() => file);
    if (draft.photoUrl) URL.revokeObjectURL(draft.photoUrl);
    draft.photoUrl = URL.createObjectURL(draft.photo);
    showPhoto();
  });
  search.addEventListener('input', showCategories);
  note.addEventListener('input', () => {
    draft.note = note.value;
  });
  send.addEventListener('click', async () => {
    const { location, category } = draft;
    const description = note.value.trim();
    if (!location || !category || !description) {
      message.textContent = t('report.missing');
      return;
    }
    message.textContent = '';
    rememberCategory(category.code);
    await ctx.outbox.add({
      categoryCode: category.code,
      categoryName: localName(category),
      description,
      location,
      accuracyMeters: draft.accuracy,
      photo: draft.photo,
    });
    if (draft.photoUrl) URL.revokeObjectURL(draft.photoUrl);
    draft = emptyDraft();
    ctx.toast(t('report.queued'));
    location_hash('queue');
  });

  view.append(
    h('section', { class: 'card' }, h('label', { class: 'file' }, t('report.photo'), photoInput), preview),
    h(
      'section',
      { class: 'card' },
      h('h3', {}, t('report.location')),
      locationText,
      h(
        'button',
        { type: 'button', class: 'link', 'data-testid': 'report-locate', onclick: locate },
        t('report.locate'),
      ),
      mapBox,
      h('small', { class: 'muted' }, t('report.dragHint')),
      h('div', {}, h('small', {}, `${t('report.grid')}: `), gridText),
    ),
    h(
      'section',
      { class: 'card' },
      h('h3', {}, t('report.category')),
      search,
      recent,
      options,
      selected,
      duplicates,
    ),
    h('section', { class: 'card' }, h('h3', {}, t('report.note')), note),
    message,
    send,
  );
  showPhoto();
  showCategories();
  if (draft.location) void showLocation();
  else locate();
  // Interactive now: everything above works without the map, which comes after.
  document.documentElement.dataset.reportReady = '1';
  performance.mark('field-report-interactive');
  const loadMap = () =>
    import('./cells-map')
      .then(({ createCellsMap }) => {
        if (!mapBox.isConnected) return;
        map = createCellsMap(mapBox, ctx.cells, {
          ...(draft.location ? { pin: draft.location } : {}),
          onPinMoved: (p) => {
            draft.location = p;
            draft.accuracy = null;
            void showLocation();
          },
        });
        if (draft.location) map.setPin(draft.location);
      })
      .catch(() => mapBox.classList.add('unavailable'));
  if ('requestIdleCallback' in window) requestIdleCallback(() => void loadMap(), { timeout: 1500 });
  else setTimeout(() => void loadMap(), 200);
}

function location_hash(tab: string): void {
  window.location.hash = tab;
}
