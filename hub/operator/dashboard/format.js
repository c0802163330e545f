// Numbers, dates and durations for one locale, through Intl only. Times are shown in Vietnam's time
// whatever the browser's zone. No imports: the HTML report inlines this file beside charts.js.

const VIETNAM = 'Asia/Ho_Chi_Minh';
const DASH = '—';
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);

/** An instant from unix seconds (or milliseconds) or an ISO 8601 text; the API's times carry their offset. */
function instant(value) {
  if (isNumber(value)) return new Date(value > 1e12 ? value : value * 1000);
  if (value instanceof Date) return value;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms) : null;
}

const isDay = (value) => typeof value === 'string' && value.length === 10; // "2023-09-04"

/** A plain day names a Vietnamese day: read it at noon there, so no zone shifts it. */
function dayInstant(value) {
  return isDay(value) ? instant(`${value}T12:00:00+07:00`) : instant(value);
}

/** A month ("2023-09") names a Vietnamese month: read it mid-month there. */
const monthInstant = (value) => instant(`${value}-15T12:00:00+07:00`);

/** The formatters of `locale` ("vi-VN", "en-GB"); each answers "—" for a missing value. */
export function formatter(locale) {
  const numbers = new Map();
  const number = (options) => {
    const key = JSON.stringify(options);
    if (!numbers.has(key)) numbers.set(key, new Intl.NumberFormat(locale, { signDisplay: 'negative', ...options }));
    return numbers.get(key);
  };
  const date = (options) => new Intl.DateTimeFormat(locale, { timeZone: VIETNAM, ...options });
  const dates = {
    clock: date({ timeStyle: 'medium' }),
    hourMinute: date({ timeStyle: 'short' }),
    long: date({ dateStyle: 'full' }),
    day: date({ day: 'numeric', month: 'short' }),
    month: date({ month: 'short', year: 'numeric' }),
    full: date({ dateStyle: 'medium' }),
    dateTime: date({ dateStyle: 'medium', timeStyle: 'short' }),
  };
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'always', style: 'short' });
  const guard = (fn) => (v, ...rest) => (isNumber(v) ? fn(v, ...rest) : DASH);
  const when = (fmt, read = instant) => (v) => {
    const at = read(v);
    return at ? fmt.format(at) : (v == null ? DASH : String(v));
  };

  const fixed = (digits) => number({ minimumFractionDigits: digits, maximumFractionDigits: digits });
  const decimal = guard((v, digits) => fixed(digits).format(v));
  return {
    int: guard((v) => number({ maximumFractionDigits: 0 }).format(v)),
    decimal,
    /** A share (0..1) with one decimal: "63,6%" (vi) or "63.6%" (en). */
    percent: guard((v) => number({ style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v)),
    /** A target without useless decimals: 0.6 → "60%", 0.955 → "95,5%". */
    target: guard((v) => number({ style: 'percent', maximumFractionDigits: 1 }).format(v)),
    /** Percentage points with their sign: "+1,25". */
    points: guard((v) => number({ signDisplay: 'exceptZero', minimumFractionDigits: 2, maximumFractionDigits: 2 })
      .format(v)),
    /** A rate with the precision its size deserves. */
    rate: guard((v) => decimal(v, Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : v === 0 ? 0 : 2)),
    /** An axis tick: whole numbers, or up to three decimals on a fine scale. */
    tick: guard((v, step) => number({ maximumFractionDigits: step >= 1 ? 0 : 3 }).format(v)),
    clock: when(dates.clock),
    hourMinute: when(dates.hourMinute),
    longDate: when(dates.long),
    day: when(dates.day, dayInstant),
    date: when(dates.full, dayInstant),
    /** A month of the API ("2023-09"): "thg 9 2023" / "Sept 2023". */
    month: when(dates.month, monthInstant),
    /** A day alone as a date, an instant as date and time. */
    dateTime: (v) => (isDay(v) ? when(dates.full, dayInstant) : when(dates.dateTime))(v),
    /** How long ago, from unix seconds: "3 giây trước" / "3 sec ago"; `never` when there is no time. */
    ago: (v, never) => {
      const at = instant(v);
      if (!at) return never;
      const s = Math.max(0, Math.round((Date.now() - at.getTime()) / 1000));
      if (s < MINUTE) return relative.format(-s, 'second');
      if (s < HOUR) return relative.format(-Math.floor(s / MINUTE), 'minute');
      if (s < DAY) return relative.format(-Math.floor(s / HOUR), 'hour');
      return relative.format(-Math.floor(s / DAY), 'day');
    },
    /** A duration in seconds in its largest sensible unit: "5 phút" / "5 minutes". */
    duration: guard((v) => {
      const [unit, size] = v < 2 * MINUTE ? ['second', 1] : v < 2 * HOUR ? ['minute', MINUTE]
        : v < 2 * DAY ? ['hour', HOUR] : ['day', DAY];
      return number({ style: 'unit', unit, unitDisplay: 'long', maximumFractionDigits: 0 }).format(v / size);
    }),
  };
}
