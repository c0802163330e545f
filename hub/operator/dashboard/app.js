// LGSP operator dashboard: polls the hub's JSON endpoints every 2 s and draws cards, tables and
// inline-SVG charts. Plain ES2020, no framework, no build step. Every visible string comes from I18N.
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------------
  // Strings

  const I18N = {
    vi: {
      htmlTitle: 'LGSP tỉnh {name} — Bảng điều hành',
      provinceHeading: 'Tỉnh {name}',
      title: 'Nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh (LGSP)',
      disconnected: 'Mất kết nối',
      disconnectedTitle: 'Không đọc được: {list}',
      healthOk: 'Hoạt động bình thường',
      healthDegraded: 'Hoạt động suy giảm',
      healthUnknown: 'Chưa rõ trạng thái',
      langSwitch: 'Chuyển sang tiếng Anh',
      weekdays: ['Chủ nhật', 'Thứ Hai', 'Thứ Ba', 'Thứ Tư', 'Thứ Năm', 'Thứ Sáu', 'Thứ Bảy'],
      months: ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'],
      dateLong: '{weekday}, {d}/{m}/{y}',
      dateShort: '{d}/{m}',
      dateFull: '{d}/{m}/{y}',
      dateTime: '{hh}:{mm} {d}/{m}/{y}',
      met: 'Đạt',
      notMet: 'Chưa đạt',
      connTitle: 'Hệ thống thông tin kết nối qua LGSP',
      connSub: 'Hệ thống phục vụ người dân, doanh nghiệp',
      gaugeLabel: 'Tỷ lệ kết nối {share}, chỉ tiêu {target}',
      systemsCount: '{connected}/{total} hệ thống',
      targetShort: 'Chỉ tiêu {v}',
      targetAtLeast: 'Chỉ tiêu ≥ {v}',
      levels: { national: 'Trung ương', province: 'Tỉnh', district: 'Huyện', commune: 'Xã' },
      levelNone: 'chưa có hệ thống',
      projMet: 'Đã đạt chỉ tiêu {target} hệ thống kết nối.',
      projReached: 'Theo xu hướng hiện tại ({slope}/ngày), chỉ tiêu {target} sẽ đạt vào ngày {date}.',
      projNot: 'Theo xu hướng hiện tại ({slope}/ngày), chưa thể đạt chỉ tiêu {target}.',
      projLittle: 'Chưa đủ dữ liệu lịch sử để dự báo thời điểm đạt chỉ tiêu {target}.',
      slopeUnit: '{v} điểm %',
      connWindow: 'Cửa sổ đo kết nối: {window}',
      kpiOnline: 'Hồ sơ nộp trực tuyến',
      kpiSigned: 'Kết quả được ký số',
      kpiOnTime: 'Giải quyết đúng hạn',
      kpiReceived: 'Hồ sơ tiếp nhận',
      onlineDetail: '{online} / {received} hồ sơ',
      signedDetail: '{signed} / {results} kết quả',
      lateShareLabel: 'Trễ hạn',
      lateDetail: '({late} / {completed} hồ sơ)',
      onTimeTitle: 'Đúng hạn: {n}',
      lateTitleBar: 'Trễ hạn: {n}',
      factCompleted: 'Đã giải quyết',
      factOpen: 'Đang giải quyết',
      factOpenLate: 'Đang quá hạn',
      dailyTitle: 'Hồ sơ theo ngày',
      dailySub: '{n} ngày gần nhất · số liệu đến {asof}',
      legendReceived: 'Tiếp nhận',
      legendOnline: 'Trong đó trực tuyến',
      legendLate: 'Trễ hạn',
      dailyBarTitle: '{day}: tiếp nhận {received} (trực tuyến {online}), trễ hạn {late}',
      tpTitle: 'Lưu lượng điều phối thông điệp',
      tpSub: 'Thông điệp/giây · 10 phút gần nhất',
      routed: 'Đã điều phối',
      rejected: 'Bị từ chối',
      perSec: 'tin/s',
      latTitle: 'Độ trễ điều phối',
      latSub: 'Mili giây · trung vị (p50) và phân vị 95 (p95)',
      ms: 'ms',
      opsTitle: 'Tình trạng nền tảng',
      opsSub: 'Hàng đợi thông điệp lỗi và các thành phần',
      dlqLabel: 'Thông điệp lỗi (DLQ)',
      dlqMore: 'Xem chi tiết',
      checks: { broker: 'Kafka broker', router: 'Bộ điều phối (router)', store: 'Cơ sở dữ liệu' },
      checkOk: 'Hoạt động',
      checkFail: 'Sự cố',
      checkNA: 'Không chạy',
      cxTitle: 'Bộ kết nối (connector)',
      cxSub: '{n} bộ kết nối đã đăng ký',
      cxName: 'Tên',
      cxId: 'Mã',
      cxState: 'Trạng thái',
      cxHeartbeat: 'Nhịp tim gần nhất',
      cxLag: 'Tồn hộp thư',
      cxHandled: 'Đã xử lý',
      cxPublished: 'Đã gửi',
      cxFailed: 'Lỗi',
      cxError: 'Lỗi gần nhất',
      states: { RUNNING: 'Đang chạy', PAUSED: 'Tạm dừng', FAILED: 'Lỗi', UNREACHABLE: 'Mất liên lạc' },
      agoS: '{n} s trước',
      agoM: '{n} phút trước',
      agoH: '{n} giờ trước',
      agoD: '{n} ngày trước',
      never: 'Chưa có',
      lateTitle: 'Hồ sơ trễ hạn theo cơ quan',
      lateSub: 'Lũy kế · chọn cơ quan để xem danh sách hồ sơ trễ hạn',
      lateAgency: 'Cơ quan',
      lateLate: 'Trễ hạn',
      lateCompleted: 'Đã giải quyết',
      lateShare: 'Tỷ lệ trễ',
      lateOpen: 'Đang quá hạn',
      lateLinkTitle: 'Danh sách hồ sơ trễ hạn của {name}',
      sysTitle: 'Danh mục hệ thống thông tin',
      sysSub: '{connected} đã kết nối · {not} chưa kết nối',
      sysConnected: 'Đã kết nối',
      sysNotConnected: 'Chưa kết nối',
      noData: 'Chưa có dữ liệu',
      footer: 'Bảng điều hành LGSP · tự động cập nhật mỗi 2 giây',
      lastUpdate: 'Cập nhật lúc {time}',
      durS: '{n} giây', durM: '{n} phút', durH: '{n} giờ', durD: '{n} ngày',
    },
    en: {
      htmlTitle: '{name} LGSP — Operations dashboard',
      provinceHeading: '{name} Province',
      title: 'Provincial data integration and sharing platform (LGSP)',
      disconnected: 'Disconnected',
      disconnectedTitle: 'Could not read: {list}',
      healthOk: 'All systems normal',
      healthDegraded: 'Degraded',
      healthUnknown: 'Status unknown',
      langSwitch: 'Switch to Vietnamese',
      weekdays: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'],
      months: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
      dateLong: '{weekday} {d} {mon} {y}',
      dateShort: '{d} {mon}',
      dateFull: '{d} {mon} {y}',
      dateTime: '{d} {mon} {y}, {hh}:{mm}',
      met: 'Met',
      notMet: 'Not met',
      connTitle: 'Information systems connected through the LGSP',
      connSub: 'Systems serving citizens and businesses',
      gaugeLabel: 'Connected share {share}, target {target}',
      systemsCount: '{connected}/{total} systems',
      targetShort: 'Target {v}',
      targetAtLeast: 'Target ≥ {v}',
      levels: { national: 'National', province: 'Province', district: 'District', commune: 'Commune' },
      levelNone: 'no systems',
      projMet: 'The {target} connected-systems target is met.',
      projReached: 'At the current trend ({slope}/day), the {target} target will be reached on {date}.',
      projNot: 'At the current trend ({slope}/day), the {target} target will not be reached.',
      projLittle: 'Not enough history yet to project when the {target} target will be reached.',
      slopeUnit: '{v} pp',
      connWindow: 'Connectivity window: {window}',
      kpiOnline: 'Dossiers filed online',
      kpiSigned: 'Digitally signed results',
      kpiOnTime: 'Resolved on time',
      kpiReceived: 'Dossiers received',
      onlineDetail: '{online} of {received} dossiers',
      signedDetail: '{signed} of {results} results',
      lateShareLabel: 'Late',
      lateDetail: '({late} of {completed} dossiers)',
      onTimeTitle: 'On time: {n}',
      lateTitleBar: 'Late: {n}',
      factCompleted: 'Completed',
      factOpen: 'In progress',
      factOpenLate: 'Open and overdue',
      dailyTitle: 'Dossiers per day',
      dailySub: 'Last {n} days · data as of {asof}',
      legendReceived: 'Received',
      legendOnline: 'of which online',
      legendLate: 'Late',
      dailyBarTitle: '{day}: received {received} ({online} online), late {late}',
      tpTitle: 'Message routing throughput',
      tpSub: 'Messages per second · last 10 minutes',
      routed: 'Routed',
      rejected: 'Rejected',
      perSec: 'msg/s',
      latTitle: 'Routing latency',
      latSub: 'Milliseconds · median (p50) and 95th percentile (p95)',
      ms: 'ms',
      opsTitle: 'Platform health',
      opsSub: 'Dead-letter queue and components',
      dlqLabel: 'Dead letters (DLQ)',
      dlqMore: 'View details',
      checks: { broker: 'Kafka broker', router: 'Router', store: 'Store (database)' },
      checkOk: 'OK',
      checkFail: 'Down',
      checkNA: 'Not running',
      cxTitle: 'Connectors',
      cxSub: '{n} registered connectors',
      cxName: 'Name',
      cxId: 'ID',
      cxState: 'State',
      cxHeartbeat: 'Last heartbeat',
      cxLag: 'Inbox lag',
      cxHandled: 'Handled',
      cxPublished: 'Published',
      cxFailed: 'Failed',
      cxError: 'Last error',
      states: { RUNNING: 'Running', PAUSED: 'Paused', FAILED: 'Failed', UNREACHABLE: 'Unreachable' },
      agoS: '{n} s ago',
      agoM: '{n} min ago',
      agoH: '{n} h ago',
      agoD: '{n} d ago',
      never: 'Never',
      lateTitle: 'Late dossiers by agency',
      lateSub: 'Cumulative · select an agency for its late dossiers',
      lateAgency: 'Agency',
      lateLate: 'Late',
      lateCompleted: 'Completed',
      lateShare: 'Late share',
      lateOpen: 'Open, overdue',
      lateLinkTitle: 'Late dossiers of {name}',
      sysTitle: 'Information systems inventory',
      sysSub: '{connected} connected · {not} not connected',
      sysConnected: 'Connected',
      sysNotConnected: 'Not connected',
      noData: 'No data yet',
      footer: 'LGSP operations dashboard · refreshed every 2 seconds',
      lastUpdate: 'Updated at {time}',
      durS: '{n} s', durM: '{n} min', durH: '{n} h', durD: '{n} days',
    },
  };

  const POLL_MS = 2000;
  const FETCH_TIMEOUT_MS = 10000;
  const DAILY_DAYS = 30;
  const WINDOW_SECONDS = 600; // the throughput charts' time span
  const LANG_KEY = 'lgsp.dashboard.lang';

  const ENDPOINTS = {
    connectivity: '/v1/kpi/connectivity',
    dossiers: '/v1/kpi/dossiers',
    throughput: '/v1/stats/throughput',
    status: '/v1/connectors?expand=status',
    info: '/v1/connectors?expand=info',
    dlq: '/v1/dlq/summary',
    health: '/v1/health',
  };

  const COLORS = {
    routed: '#1d6fd8', rejected: '#dc2626', p50: '#0e9f6e', p95: '#d97706',
    received: '#bfd6f6', online: '#1d6fd8', late: '#e0483e',
    track: '#e6ebf2', met: '#15803d', notMet: '#dc2626', warn: '#d97706', target: '#1f2937',
  };

  // ---------------------------------------------------------------------------------------------
  // State

  const state = {
    lang: loadLang(),
    data: {},      // endpoint key -> last good body
    failed: {},    // endpoint key -> true when the last attempt failed
    lastOk: null,  // Date of the last poll with at least one good answer
  };

  function loadLang() {
    try {
      const v = window.localStorage.getItem(LANG_KEY);
      return v === 'en' || v === 'vi' ? v : 'vi';
    } catch (_) {
      return 'vi';
    }
  }

  function saveLang(lang) {
    try { window.localStorage.setItem(LANG_KEY, lang); } catch (_) { /* private mode */ }
  }

  // ---------------------------------------------------------------------------------------------
  // Formatting

  const dict = () => I18N[state.lang] || I18N.vi;

  function t(key, vars) {
    let s = dict()[key];
    if (s === undefined) s = I18N.vi[key];
    if (typeof s !== 'string') return s === undefined ? key : s;
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  function fmtInt(n) {
    if (!isNum(n)) return '—';
    const sep = state.lang === 'vi' ? '.' : ',';
    const sign = n < 0 ? '-' : '';
    return sign + Math.round(Math.abs(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  }

  function fmtDec(n, digits) {
    if (!isNum(n)) return '—';
    const fixed = Math.abs(n).toFixed(digits);
    const [ip, fp] = fixed.split('.');
    const sign = n < 0 && Number(fixed) !== 0 ? '-' : '';
    const sep = state.lang === 'vi' ? '.' : ',';
    const dec = state.lang === 'vi' ? ',' : '.';
    return sign + ip.replace(/\B(?=(\d{3})+(?!\d))/g, sep) + (fp ? dec + fp : '');
  }

  /** A share (0..1) as a percentage with one decimal: "63,6%" (VI) or "63.6%" (EN). */
  function fmtPct(share, digits = 1) {
    return isNum(share) ? fmtDec(share * 100, digits) + '%' : '—';
  }

  /** A target share without useless decimals: 0.6 -> "60%", 0.3 -> "30%", 0.955 -> "95,5%". */
  function fmtTarget(share) {
    if (!isNum(share)) return '—';
    const v = share * 100;
    return fmtDec(v, Math.abs(v - Math.round(v)) < 1e-9 ? 0 : 1) + '%';
  }

  /** A rate with sensible precision. */
  function fmtRate(v) {
    if (!isNum(v)) return '—';
    if (Math.abs(v) >= 100) return fmtInt(v);
    if (Math.abs(v) >= 10) return fmtDec(v, 1);
    return fmtDec(v, v === 0 ? 0 : 2);
  }

  const pad2 = (n) => String(n).padStart(2, '0');

  const VN_OFFSET_MINUTES = 7 * 60; // Asia/Ho_Chi_Minh, no daylight saving

  /**
   * Reads "YYYY-MM-DD[THH:MM[:SS][offset]]". A time with an offset (e.g. UTC) is shown in Vietnam's
   * time (+07:00); a date or a time without offset is shown as written.
   */
  function parseWall(value) {
    if (typeof value !== 'string') return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?/.exec(value);
    if (!m) return null;
    if (m[4] !== undefined && m[6] !== undefined && !/^\+07:?00$/.test(m[6])) {
      const ms = Date.parse(value);
      if (Number.isFinite(ms)) {
        const vn = new Date(ms + VN_OFFSET_MINUTES * 60000);
        return { y: vn.getUTCFullYear(), m: vn.getUTCMonth() + 1, d: vn.getUTCDate(), hh: vn.getUTCHours(), mm: vn.getUTCMinutes() };
      }
    }
    return { y: +m[1], m: +m[2], d: +m[3], hh: m[4] === undefined ? null : +m[4], mm: m[5] === undefined ? null : +m[5] };
  }

  function wallVars(w) {
    return { y: w.y, m: pad2(w.m), d: pad2(w.d), mon: dict().months[w.m - 1], hh: pad2(w.hh || 0), mm: pad2(w.mm || 0) };
  }

  function fmtDay(value, key = 'dateShort') {
    const w = parseWall(value);
    return w ? t(key, wallVars(w)) : (value == null ? '—' : String(value));
  }

  function fmtWallDateTime(value) {
    const w = parseWall(value);
    if (!w) return value == null ? '—' : String(value);
    return t(w.hh === null ? 'dateFull' : 'dateTime', wallVars(w));
  }

  function fmtClock(date) {
    return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
  }

  function fmtHM(date) {
    return `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
  }

  /** Seconds since a unix timestamp: "3 s trước" / "3 s ago". */
  function fmtAgo(unixSeconds) {
    if (!isNum(unixSeconds)) return t('never');
    const ts = unixSeconds > 1e12 ? unixSeconds / 1000 : unixSeconds;
    const s = Math.max(0, Math.round(Date.now() / 1000 - ts));
    if (s < 60) return t('agoS', { n: s });
    if (s < 3600) return t('agoM', { n: Math.floor(s / 60) });
    if (s < 86400) return t('agoH', { n: Math.floor(s / 3600) });
    return t('agoD', { n: Math.floor(s / 86400) });
  }

  function fmtDuration(seconds) {
    if (!isNum(seconds)) return '—';
    if (seconds < 120) return t('durS', { n: fmtInt(seconds) });
    if (seconds < 7200) return t('durM', { n: fmtInt(seconds / 60) });
    if (seconds < 172800) return t('durH', { n: fmtInt(seconds / 3600) });
    return t('durD', { n: fmtInt(seconds / 86400) });
  }

  // ---------------------------------------------------------------------------------------------
  // DOM helpers

  const $ = (sel, root = document) => root.querySelector(sel);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function clear(el) {
    while (el && el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function metPill(el, met) {
    if (!el) return;
    if (met === true || met === false) {
      el.className = 'pill ' + (met ? 'pill-met' : 'pill-notmet');
      el.textContent = met ? t('met') : t('notMet');
      el.dataset.met = String(met);
      el.hidden = false;
    } else {
      el.className = 'pill pill-neutral';
      el.textContent = '';
      el.hidden = true;
      delete el.dataset.met;
    }
  }

  /** Width available to a chart: its box's content width. */
  function boxWidth(svg, fallback = 600) {
    const box = svg && svg.parentElement;
    const w = box ? box.clientWidth : 0;
    return w > 40 ? Math.floor(w) : fallback;
  }

  // ---------------------------------------------------------------------------------------------
  // Charts

  /** A round step for axis ticks covering max in ~n steps. */
  function niceStep(max, n) {
    if (!(max > 0)) return 1;
    const raw = max / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * mag;
  }

  function yScale(maxValue, ticks = 4) {
    const step = niceStep(maxValue > 0 ? maxValue : 1, ticks);
    const top = Math.max(step, Math.ceil((maxValue > 0 ? maxValue : 1) / step) * step);
    const values = [];
    for (let i = 0; i * step <= top + step / 2; i++) values.push(i * step);
    return { top, step, values };
  }

  /** An axis tick with as many decimals as its step needs. */
  function fmtTick(v, step) {
    const decimals = step >= 1 ? 0 : Math.min(3, (String(Number(step.toFixed(6))).split('.')[1] || '').length);
    return decimals ? fmtDec(v, decimals) : fmtInt(v);
  }

  function gridAndYAxis(g, { x0, x1, y, scale, fmt, empty }) {
    if (empty) {
      g.append(s('line', { x1: x0, x2: x1, y1: y(0), y2: y(0), class: 'axis-line' }));
      return;
    }
    for (const v of scale.values) {
      const yy = y(v);
      g.append(s('line', { x1: x0, x2: x1, y1: yy, y2: yy, class: v === 0 ? 'axis-line' : 'grid-line' }));
      g.append(s('text', { x: x0 - 8, y: yy, class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle', text: fmt(v, scale.step) }));
    }
  }

  function emptyNote(svg, width, height) {
    svg.append(s('text', { x: width / 2, y: height / 2, class: 'empty-note', 'text-anchor': 'middle', 'dominant-baseline': 'middle', text: t('noData') }));
  }

  /**
   * Time-series lines. series: [{key, color, values: [number|null]}], times: unix seconds.
   * Nulls break the line. Each line is a <path data-series="key">; the first series gets an area fill.
   */
  function lineChart(svg, { times, series, height = 230, fmtY = fmtTick, area = true }) {
    const width = boxWidth(svg);
    clear(svg);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    const m = { top: 14, right: 16, bottom: 28, left: 52 };
    const x0 = m.left, x1 = width - m.right, y0 = height - m.bottom, y1 = m.top;

    let max = 0;
    for (const ser of series) for (const v of ser.values) if (isNum(v) && v > max) max = v;
    const scale = yScale(max * 1.08);
    const y = (v) => y0 - (v / scale.top) * (y0 - y1);

    const n = times.length;
    // the window is always the last ten minutes (at least), ending at the latest point
    const tMax = n ? times[n - 1] : Date.now() / 1000;
    const tMin = Math.min(n ? times[0] : tMax, tMax - WINDOW_SECONDS);
    const x = (tt) => x0 + ((tt - tMin) / (tMax - tMin)) * (x1 - x0);

    const g = s('g', {});
    svg.append(g);
    gridAndYAxis(g, { x0, x1, y, scale, fmt: fmtY, empty: n === 0 });

    // x axis: time of day on round minutes
    const span = tMax - tMin;
    const stepMin = span > 1800 ? 10 : span > 900 ? 5 : span > 300 ? 2 : 1;
    const stepS = stepMin * 60;
    for (let tt = Math.ceil(tMin / stepS) * stepS; tt <= tMax; tt += stepS) {
      const xx = x(tt);
      if (xx < x0 + 18 || xx > x1 - 18) continue;
      g.append(s('line', { x1: xx, x2: xx, y1: y0, y2: y0 + 4, class: 'axis-line' }));
      g.append(s('text', { x: xx, y: y0 + 18, class: 'axis-label', 'text-anchor': 'middle', text: fmtHM(new Date(tt * 1000)) }));
    }

    const defs = s('defs', {});
    svg.prepend(defs);
    series.forEach((ser, idx) => {
      let d = '';
      let areaD = '';
      let run = [];
      const flush = () => {
        if (run.length && idx === 0 && area) {
          areaD += `M${run[0][0].toFixed(1)},${y0}` + run.map(([px, py]) => `L${px.toFixed(1)},${py.toFixed(1)}`).join('') +
            `L${run[run.length - 1][0].toFixed(1)},${y0}Z`;
        }
        run = [];
      };
      for (let i = 0; i < n; i++) {
        const v = ser.values[i];
        if (!isNum(v)) { flush(); continue; }
        const px = x(times[i]), py = y(v);
        d += (run.length ? 'L' : 'M') + px.toFixed(1) + ',' + py.toFixed(1);
        run.push([px, py]);
      }
      flush();
      if (areaD) {
        const gid = `grad-${svg.id}-${ser.key}`;
        defs.append(s('linearGradient', { id: gid, x1: 0, y1: 0, x2: 0, y2: 1 },
          s('stop', { offset: '0', 'stop-color': ser.color, 'stop-opacity': 0.22 }),
          s('stop', { offset: '1', 'stop-color': ser.color, 'stop-opacity': 0.02 })));
        svg.append(s('path', { d: areaD, fill: `url(#${gid})`, class: 'series-area', 'data-area': ser.key }));
      }
      svg.append(s('path', { d, stroke: ser.color, class: 'series-line', 'data-series': ser.key, fill: 'none' }));
      // a dot on the latest value
      for (let i = n - 1; i >= 0; i--) {
        if (isNum(ser.values[i])) {
          svg.append(s('circle', { cx: x(times[i]).toFixed(1), cy: y(ser.values[i]).toFixed(1), r: 3.5, fill: ser.color, class: 'series-dot' }));
          break;
        }
      }
    });
    if (!n) emptyNote(svg, width, height);
  }

  /** Daily grouped bars: received (with the online part) and late. */
  function dailyChart(svg, days) {
    const width = boxWidth(svg);
    const height = 230;
    clear(svg);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    const m = { top: 12, right: 8, bottom: 28, left: 52 };
    const x0 = m.left, x1 = width - m.right, y0 = height - m.bottom, y1 = m.top;
    let max = 0;
    for (const d of days) max = Math.max(max, num(d.received), num(d.late));
    const scale = yScale(max * 1.05);
    const y = (v) => y0 - (v / scale.top) * (y0 - y1);
    const g = s('g', {});
    svg.append(g);
    gridAndYAxis(g, { x0, x1, y, scale, fmt: fmtTick, empty: !days.length });
    if (!days.length) { emptyNote(svg, width, height); return; }

    const slot = (x1 - x0) / days.length;
    const bw = Math.max(2, Math.min(22, slot * 0.5));
    const lw = Math.max(2, Math.min(10, slot * 0.22));
    const labelEvery = Math.max(1, Math.ceil(56 / slot));
    const bars = s('g', {});
    svg.append(bars);
    days.forEach((d, i) => {
      const cx = x0 + slot * (i + 0.5);
      const rec = num(d.received), onl = Math.min(num(d.online), rec), late = num(d.late);
      const bx = cx - (bw + lw + 2) / 2;
      const title = s('title', {
        text: t('dailyBarTitle', { day: fmtDay(d.day, 'dateFull'), received: fmtInt(rec), online: fmtInt(onl), late: fmtInt(late) }),
      });
      const grp = s('g', { 'data-day': d.day || '' }, title);
      if (rec > 0) grp.append(s('rect', { x: bx.toFixed(1), y: y(rec).toFixed(1), width: bw.toFixed(1), height: (y0 - y(rec)).toFixed(1), fill: COLORS.received, rx: 2 }));
      if (onl > 0) grp.append(s('rect', { x: bx.toFixed(1), y: y(onl).toFixed(1), width: bw.toFixed(1), height: (y0 - y(onl)).toFixed(1), fill: COLORS.online, rx: 2 }));
      if (late > 0) grp.append(s('rect', { x: (bx + bw + 2).toFixed(1), y: y(late).toFixed(1), width: lw.toFixed(1), height: Math.max(1, y0 - y(late)).toFixed(1), fill: COLORS.late, rx: 1.5 }));
      // an invisible full-height target for the tooltip
      grp.append(s('rect', { x: (cx - slot / 2).toFixed(1), y: y1, width: slot.toFixed(1), height: y0 - y1, fill: 'transparent' }));
      bars.append(grp);
      if ((days.length - 1 - i) % labelEvery === 0) {
        g.append(s('text', { x: cx.toFixed(1), y: y0 + 18, class: 'axis-label', 'text-anchor': 'middle', text: fmtDay(d.day) }));
      }
    });
  }

  const num = (v) => (isNum(v) ? v : 0);

  /** The semicircle gauge of the connected share with the target marked. */
  function drawGauge(svg, share, target, met) {
    clear(svg);
    const cx = 130, cy = 128, r = 100, sw = 22;
    const pt = (f, rad = r) => {
      const a = Math.PI * (1 - Math.min(1, Math.max(0, f)));
      return [cx + rad * Math.cos(a), cy - rad * Math.sin(a)];
    };
    const arc = (f0, f1, rad = r) => {
      const [ax, ay] = pt(f0, rad), [bx, by] = pt(f1, rad);
      return `M${ax.toFixed(2)},${ay.toFixed(2)}A${rad},${rad} 0 0 1 ${bx.toFixed(2)},${by.toFixed(2)}`;
    };
    const color = met === true ? COLORS.met : met === false ? (isNum(share) && isNum(target) && share >= target * 0.85 ? COLORS.warn : COLORS.notMet) : '#94a3b8';
    svg.append(s('path', { d: arc(0, 1), class: 'gauge-track', stroke: COLORS.track, 'stroke-width': sw, fill: 'none', 'stroke-linecap': 'butt' }));
    if (isNum(share) && share > 0.001) {
      svg.append(s('path', { d: arc(0, share), class: 'gauge-value', stroke: color, 'stroke-width': sw, fill: 'none', 'stroke-linecap': 'butt', 'data-series': 'share' }));
    }
    if (isNum(target)) {
      const [ax, ay] = pt(target, r - sw / 2 - 7), [bx, by] = pt(target, r + sw / 2 + 7);
      const [lx, ly] = pt(target, r + sw / 2 + 19);
      svg.append(s('line', { x1: ax.toFixed(2), y1: ay.toFixed(2), x2: bx.toFixed(2), y2: by.toFixed(2), class: 'gauge-target', 'data-target': target }));
      svg.append(s('text', { x: lx.toFixed(2), y: ly.toFixed(2), class: 'gauge-target-label', 'text-anchor': target > 0.5 ? 'start' : target < 0.5 ? 'end' : 'middle', 'dominant-baseline': 'middle', text: fmtTarget(target) }));
    }
    svg.append(s('text', { x: cx - r, y: cy + 18, class: 'gauge-end', 'text-anchor': 'middle', text: fmtTarget(0) }));
    svg.append(s('text', { x: cx + r, y: cy + 18, class: 'gauge-end', 'text-anchor': 'middle', text: fmtTarget(1) }));
    svg.append(s('text', {
      x: cx, y: cy - 14, class: 'gauge-share', 'text-anchor': 'middle', fill: color,
      'data-testid': 'gauge-share', 'data-value': isNum(share) ? share : '', text: fmtPct(share),
    }));
    svg.setAttribute('aria-label', t('gaugeLabel', { share: fmtPct(share), target: fmtTarget(target) }));
  }

  // ---------------------------------------------------------------------------------------------
  // Renderers: each reads state.data and never throws out of render()

  function renderStatic() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll('[data-i18n]')) setText(el, t(el.dataset.i18n));
    const sw = $('[data-testid="lang-switch"]');
    sw.dataset.lang = state.lang;
    sw.title = t('langSwitch');
    sw.setAttribute('aria-label', t('langSwitch'));
    for (const opt of sw.querySelectorAll('.lang-opt')) opt.classList.toggle('active', opt.dataset.opt === state.lang);
    renderHeader();
  }

  function renderHeader() {
    const c = state.data.connectivity;
    const name = (c && c.province && c.province.name) || '';
    const heading = $('#province-heading');
    const nameEl = $('#province-name');
    setText(nameEl, name || '—');
    // the heading is a template around the name: "Tỉnh {name}" / "{name} Province"
    const [before, after] = t('provinceHeading').split('{name}');
    clear(heading);
    heading.append(before || '', nameEl, after || '');
    heading.style.visibility = name ? '' : 'hidden';
    document.title = name ? t('htmlTitle', { name }) : t('title');
    renderClock();
  }

  function renderClock() {
    const now = new Date();
    setText($('#clock-time'), fmtClock(now));
    setText($('#clock-date'), t('dateLong', {
      weekday: dict().weekdays[now.getDay()], d: pad2(now.getDate()), m: pad2(now.getMonth() + 1),
      mon: dict().months[now.getMonth()], y: now.getFullYear(),
    }));
  }

  function renderStatus() {
    const failedKeys = Object.keys(state.failed).filter((k) => state.failed[k]);
    const badge = $('[data-testid="disconnected"]');
    badge.hidden = failedKeys.length === 0;
    badge.title = failedKeys.length ? t('disconnectedTitle', { list: failedKeys.map((k) => ENDPOINTS[k]).join(', ') }) : '';
    badge.dataset.failed = failedKeys.join(' ');
    for (const card of document.querySelectorAll('[data-source]')) {
      const src = card.dataset.source;
      const keys = src === 'connectors' ? ['status', 'info'] : [src];
      card.classList.toggle('stale', keys.some((k) => state.failed[k]));
    }
    const health = state.data.health;
    const el = $('[data-testid="health"]');
    let status = 'unknown';
    if (!state.failed.health && health && (health.status === 'ok' || health.status === 'degraded')) status = health.status;
    el.dataset.status = status;
    setText($('#health-label'), status === 'ok' ? t('healthOk') : status === 'degraded' ? t('healthDegraded') : t('healthUnknown'));
    setText($('#last-update'), state.lastOk ? t('lastUpdate', { time: fmtClock(state.lastOk) }) : '');
  }

  function renderConnectivity() {
    const c = state.data.connectivity;
    const svg = $('[data-testid="gauge"]');
    if (!c) { drawGauge(svg, null, 0.6, null); return; }
    const met = typeof c.met === 'boolean' ? c.met : (isNum(c.share) && isNum(c.target) ? c.share >= c.target : null);
    drawGauge(svg, c.share, c.target, met);
    metPill($('#conn-met'), met);
    setText($('#conn-count'), t('systemsCount', { connected: fmtInt(c.connected), total: fmtInt(c.total) }));

    // per level, in a fixed order, then any other level the hub reports
    const order = ['national', 'province', 'district', 'commune'];
    const levels = Array.isArray(c.by_level) ? [...c.by_level] : [];
    for (const lv of ['province', 'district', 'commune']) {
      if (!levels.some((l) => l && l.level === lv)) levels.push({ level: lv, connected: 0, total: 0, share: null });
    }
    levels.sort((a, b) => (order.indexOf(a.level) + 1 || 99) - (order.indexOf(b.level) + 1 || 99));
    const box = clear($('#conn-levels'));
    for (const l of levels) {
      if (!l) continue;
      const share = isNum(l.share) ? l.share : (l.total ? num(l.connected) / l.total : null);
      const label = (dict().levels || {})[l.level] || l.level;
      const lmet = isNum(share) && isNum(c.target) ? share >= c.target : null;
      const bar = h('div', { class: 'level-bar' },
        h('div', { class: 'level-fill ' + (lmet === null ? '' : lmet ? 'is-met' : 'is-notmet'), style: `width:${(Math.max(0, Math.min(1, num(share))) * 100).toFixed(1)}%` }),
        isNum(c.target) ? h('div', { class: 'level-target', style: `left:${(c.target * 100).toFixed(1)}%` }) : null);
      box.append(h('div', { class: 'level', 'data-level': l.level, 'data-value': isNum(share) ? share : '' },
        h('div', { class: 'level-name', text: label }),
        bar,
        h('div', { class: 'level-nums' },
          l.total ? [h('strong', { text: fmtPct(share) }), h('span', { class: 'muted', text: ` ${fmtInt(l.connected)}/${fmtInt(l.total)}` })]
            : h('span', { class: 'muted', text: t('levelNone') }))));
    }

    const p = c.projection || {};
    const target = fmtTarget(c.target);
    const slopePp = isNum(p.slope_per_day) ? p.slope_per_day * 100 : null;
    const slope = slopePp === null ? '—' : t('slopeUnit', { v: (slopePp > 0 ? '+' : '') + fmtDec(slopePp, 2) });
    let text = '';
    let cls = 'projection';
    if (p.status === 'met') { text = t('projMet', { target }); cls += ' is-met'; }
    else if (p.status === 'reached_at') { text = t('projReached', { target, slope, date: fmtDay(p.reached_at, 'dateFull') }); cls += ' is-warn'; }
    else if (p.status === 'not_at_this_trend') { text = t('projNot', { target, slope }); cls += ' is-notmet'; }
    else if (p.status === 'too_little_history') { text = t('projLittle', { target }); }
    const pe = $('#conn-projection');
    pe.className = cls;
    pe.dataset.status = p.status || '';
    setText(pe, text);
    setText($('#conn-window'), isNum(c.window_seconds) ? t('connWindow', { window: fmtDuration(c.window_seconds) }) : '');

    renderSystems(c);
    renderHeader();
  }

  function renderSystems(c) {
    const systems = Array.isArray(c.systems) ? [...c.systems] : [];
    const names = {};
    for (const a of Array.isArray(c.by_agency) ? c.by_agency : []) if (a && a.agency) names[a.agency] = a.name || a.agency;
    // the systems still to connect first: they are what stands between the province and its target
    systems.sort((a, b) => (a.connected === true) - (b.connected === true));
    const connected = systems.filter((x) => x && x.connected).length;
    setText($('#sys-sub'), systems.length ? t('sysSub', { connected: fmtInt(connected), not: fmtInt(systems.length - connected) }) : '');
    const body = clear($('#sys-body'));
    for (const x of systems) {
      if (!x) continue;
      const on = x.connected === true;
      let seen = '';
      if (on) {
        if (isNum(x.last_seen)) seen = fmtAgo(x.last_seen);
        else if (typeof x.last_seen === 'string') seen = fmtWallDateTime(x.last_seen);
      }
      const owner = names[x.owner] || x.owner || '';
      const lvl = (dict().levels || {})[x.level] || x.level || '';
      body.append(h('tr', { 'data-system-id': x.id, 'data-connected': String(on) },
        h('td', { class: 'sys-dot-cell' }, h('span', { class: 'sys-dot ' + (on ? 'on' : 'off'), title: on ? t('sysConnected') : t('sysNotConnected') })),
        h('td', {},
          h('div', { class: 'sys-name', text: x.name || x.id }),
          h('div', { class: 'sys-owner muted', text: [owner, lvl].filter(Boolean).join(' · ') })),
        h('td', { class: 'sys-state' },
          h('span', { class: on ? 'txt-met' : 'muted', text: on ? t('sysConnected') : t('sysNotConnected') }),
          seen ? h('div', { class: 'muted small', text: seen }) : null)));
    }
  }

  function renderDossiers() {
    const d = state.data.dossiers || {};
    const c = d.cumulative || {};

    // online share vs target
    const online = $('#kpi-online');
    const onlineEl = $('[data-testid="online-share"]');
    setText(onlineEl, fmtPct(c.online_share));
    onlineEl.dataset.value = isNum(c.online_share) ? c.online_share : '';
    const onlineMet = typeof c.online_met === 'boolean' ? c.online_met : null;
    metPill($('[data-role="met"]', online), onlineMet);
    onlineEl.className = 'kpi-value ' + metClass(onlineMet);
    progress($('[data-role="bar"]', online), c.online_share, c.online_target, onlineMet);
    setText($('[data-role="detail"]', online), isNum(c.online_share)
      ? `${t('onlineDetail', { online: fmtInt(c.online), received: fmtInt(c.received) })} · ${t('targetAtLeast', { v: fmtTarget(c.online_target) })}` : '');

    // signed results vs 100 %
    const signed = $('#kpi-signed');
    const signedEl = $('[data-testid="signed-share"]');
    setText(signedEl, fmtPct(c.signed_share));
    signedEl.dataset.value = isNum(c.signed_share) ? c.signed_share : '';
    const signedMet = typeof c.signed_met === 'boolean' ? c.signed_met : null;
    metPill($('[data-role="met"]', signed), signedMet);
    signedEl.className = 'kpi-value ' + metClass(signedMet);
    progress($('[data-role="bar"]', signed), c.signed_share, c.signed_target, signedMet);
    setText($('[data-role="detail"]', signed), isNum(c.signed_share)
      ? `${t('signedDetail', { signed: fmtInt(c.signed), results: fmtInt(c.results) })} · ${t('targetShort', { v: fmtTarget(c.signed_target) })}` : '');

    // on time vs late
    const ontime = $('#kpi-ontime');
    const completed = num(c.completed);
    const onTimeShare = completed > 0 ? num(c.on_time) / completed : null;
    const ontimeVal = $('[data-role="value"]', ontime);
    setText(ontimeVal, fmtPct(onTimeShare));
    ontimeVal.dataset.value = isNum(onTimeShare) ? onTimeShare : '';
    const lateEl = $('[data-testid="late-share"]');
    setText(lateEl, fmtPct(c.late_share));
    lateEl.dataset.value = isNum(c.late_share) ? c.late_share : '';
    metPill($('[data-role="met"]', ontime), null);
    const split = clear($('[data-role="bar"]', ontime));
    if (completed > 0) {
      const okPct = (num(c.on_time) / completed) * 100;
      const latePct = (num(c.late) / completed) * 100;
      split.append(
        h('div', { class: 'split-ok', style: `width:${okPct.toFixed(2)}%`, title: t('onTimeTitle', { n: fmtInt(c.on_time) }) }),
        h('div', { class: 'split-late', style: `width:${latePct.toFixed(2)}%`, title: t('lateTitleBar', { n: fmtInt(c.late) }) }));
    }
    setText($('[data-role="detail"]', ontime), isNum(c.completed) ? t('lateDetail', { late: fmtInt(c.late), completed: fmtInt(c.completed) }) : '');

    // received
    const rec = $('#kpi-received');
    const recEl = $('[data-testid="dossiers-received"]');
    setText(recEl, fmtInt(c.received));
    recEl.dataset.value = isNum(c.received) ? c.received : '';
    const facts = clear($('[data-role="detail"]', rec));
    const fact = (label, value, cls) => h('div', { class: 'fact ' + (cls || '') }, h('span', { text: label }), h('strong', { text: fmtInt(value) }));
    if (isNum(c.received)) facts.append(
      fact(t('factCompleted'), c.completed),
      fact(t('factOpen'), c.open),
      fact(t('factOpenLate'), c.open_late, num(c.open_late) > 0 ? 'txt-notmet' : ''));

    // per day
    const days = (Array.isArray(d.daily) ? d.daily : []).slice(-DAILY_DAYS);
    setText($('#daily-sub'), days.length ? t('dailySub', { n: fmtInt(days.length), asof: fmtWallDateTime(d.as_of) }) : '');
    const legend = clear($('#daily-legend'));
    legend.append(
      legendItem(COLORS.received, t('legendReceived')),
      legendItem(COLORS.online, t('legendOnline')),
      legendItem(COLORS.late, t('legendLate')));
    dailyChart($('#daily-chart'), days);

    // late per agency
    const rows = (Array.isArray(d.late_by_agency) ? [...d.late_by_agency] : []).filter(Boolean);
    rows.sort((a, b) => num(b.late) - num(a.late) || num(b.open_late) - num(a.open_late) || String(a.agency).localeCompare(String(b.agency)));
    const maxShare = Math.max(0.0001, ...rows.map((r) => num(r.late_share)));
    const body = clear($('#late-body'));
    if (!rows.length) body.append(h('tr', {}, h('td', { colspan: 5, class: 'muted empty-row', text: t('noData') })));
    for (const r of rows) {
      const href = `/v1/kpi/dossiers/late?agency=${encodeURIComponent(r.agency || '')}`;
      body.append(h('tr', { 'data-agency': r.agency || '' },
        h('td', {},
          h('a', { href, target: '_blank', rel: 'noopener', class: 'agency-link', title: t('lateLinkTitle', { name: r.name || r.agency }) },
            h('span', { class: 'agency-name', text: r.name || r.agency || '—' }),
            h('span', { class: 'agency-code', text: r.agency || '' }))),
        h('td', { class: 'num strong', text: fmtInt(r.late) }),
        h('td', { class: 'num', text: fmtInt(r.completed) }),
        h('td', { class: 'share-col' }, h('div', { class: 'share-cell' },
          h('div', { class: 'mini-bar' }, h('div', { class: 'mini-fill', style: `width:${((num(r.late_share) / maxShare) * 100).toFixed(1)}%` })),
          h('span', { class: 'mini-val', 'data-value': isNum(r.late_share) ? r.late_share : '', text: fmtPct(r.late_share) }))),
        h('td', { class: 'num ' + (num(r.open_late) > 0 ? 'txt-notmet' : 'muted'), text: fmtInt(r.open_late) })));
    }
  }

  const metClass = (met) => (met === true ? 'is-met' : met === false ? 'is-notmet' : '');

  function progress(el, share, target, met) {
    clear(el);
    const fill = h('div', { class: 'kpi-fill ' + metClass(met), style: `width:${(Math.max(0, Math.min(1, num(share))) * 100).toFixed(1)}%` });
    el.append(fill);
    if (isNum(target) && target < 1) el.append(h('div', { class: 'kpi-target', style: `left:${(target * 100).toFixed(1)}%` }));
  }

  function legendItem(color, label) {
    return h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${color}` }), label);
  }

  function renderThroughput() {
    const data = state.data.throughput;
    const points = (data && Array.isArray(data.points) ? data.points : []).filter((p) => p && isNum(p.t));
    points.sort((a, b) => a.t - b.t);
    const times = points.map((p) => p.t);
    lineChart($('#tp-chart'), {
      times,
      series: [
        { key: 'routed', color: COLORS.routed, values: points.map((p) => p.routed_per_s) },
        { key: 'rejected', color: COLORS.rejected, values: points.map((p) => p.rejected_per_s) },
      ],
    });
    lineChart($('#lat-chart'), {
      times,
      area: false,
      series: [
        { key: 'p95', color: COLORS.p95, values: points.map((p) => p.p95_ms) },
        { key: 'p50', color: COLORS.p50, values: points.map((p) => p.p50_ms) },
      ],
    });
    const last = points[points.length - 1] || {};
    const lastOf = (k) => { for (let i = points.length - 1; i >= 0; i--) if (isNum(points[i][k])) return points[i][k]; return null; };
    nowValues($('#tp-now'), [
      { key: 'routed', color: COLORS.routed, label: t('routed'), value: fmtRate(last.routed_per_s), unit: t('perSec') },
      { key: 'rejected', color: COLORS.rejected, label: t('rejected'), value: fmtRate(last.rejected_per_s), unit: t('perSec') },
    ]);
    nowValues($('#lat-now'), [
      { key: 'p50', color: COLORS.p50, label: 'p50', value: fmtRate(lastOf('p50_ms')), unit: t('ms') },
      { key: 'p95', color: COLORS.p95, label: 'p95', value: fmtRate(lastOf('p95_ms')), unit: t('ms') },
    ]);
  }

  function nowValues(el, items) {
    clear(el);
    for (const it of items) {
      el.append(h('div', { class: 'now', 'data-now': it.key },
        h('div', { class: 'now-label' }, h('span', { class: 'swatch line', style: `background:${it.color}` }), it.label),
        h('div', { class: 'now-value' }, it.value, h('span', { class: 'unit', text: ' ' + it.unit }))));
    }
  }

  function renderOps() {
    const dlq = state.data.dlq;
    const el = $('[data-testid="dlq-count"]');
    const total = dlq && isNum(dlq.total) ? dlq.total : null;
    setText(el, fmtInt(total));
    el.dataset.value = total === null ? '' : total;
    $('[data-testid="dlq-link"]').classList.toggle('has-letters', num(total) > 0);

    const health = state.data.health;
    const list = clear($('#health-checks'));
    const checks = health && health.checks && typeof health.checks === 'object' ? health.checks : {};
    for (const [k, v] of Object.entries(checks)) {
      const st = v === true ? 'ok' : v === false ? 'fail' : 'na';
      list.append(h('li', { class: 'check', 'data-check': k, 'data-status': st },
        h('span', { class: 'check-dot' }),
        h('span', { class: 'check-name', text: (dict().checks || {})[k] || k }),
        h('span', { class: 'check-state', text: st === 'ok' ? t('checkOk') : st === 'fail' ? t('checkFail') : t('checkNA') })));
    }
  }

  function renderConnectors() {
    const status = state.data.status || {};
    const info = state.data.info || {};
    // trouble first (failed, unreachable, paused), then the running ones; by id within a state
    const rank = { FAILED: 0, UNREACHABLE: 1, PAUSED: 2, RUNNING: 3 };
    const stateOf = (id) => (status[id] && status[id].status && status[id].status.state) || '';
    const ids = [...new Set([...Object.keys(info), ...Object.keys(status)])]
      .sort((a, b) => (rank[stateOf(a)] ?? 4) - (rank[stateOf(b)] ?? 4) || a.localeCompare(b));
    const body = clear($('#cx-body'));
    const counts = {};
    for (const id of ids) {
      const st = (status[id] && status[id].status) || {};
      const inf = (info[id] && info[id].info) || {};
      const stateName = typeof st.state === 'string' && st.state ? st.state : '';
      if (stateName) counts[stateName] = (counts[stateName] || 0) + 1;
      const err = typeof st.last_error === 'string' ? st.last_error : (st.last_error ? JSON.stringify(st.last_error) : '');
      body.append(h('tr', { 'data-connector-id': id, 'data-state': stateName },
        h('td', {},
          h('div', { class: 'cx-name', text: inf.name || id }),
          inf.agency ? h('div', { class: 'muted small', text: [inf.agency, (dict().levels || {})[inf.level] || inf.level].filter(Boolean).join(' · ') }) : null),
        h('td', {}, h('code', { class: 'cx-id', text: id })),
        h('td', {}, statePill(stateName)),
        h('td', { class: 'nowrap', 'data-value': isNum(st.last_heartbeat) ? st.last_heartbeat : '', text: fmtAgo(st.last_heartbeat) }),
        h('td', { class: 'num ' + (num(st.inbox_lag) > 1000 ? 'txt-warn strong' : ''), text: fmtInt(st.inbox_lag) }),
        h('td', { class: 'num', text: fmtInt(st.handled) }),
        h('td', { class: 'num', text: fmtInt(st.published) }),
        h('td', { class: 'num ' + (num(st.failed) > 0 ? 'txt-notmet strong' : ''), text: fmtInt(st.failed) }),
        h('td', { class: 'cx-error' }, err ? h('span', { class: 'err-text', title: err, text: err }) : h('span', { class: 'muted', text: '—' }))));
    }
    if (!ids.length) body.append(h('tr', {}, h('td', { colspan: 9, class: 'muted empty-row', text: t('noData') })));
    setText($('#cx-sub'), t('cxSub', { n: fmtInt(ids.length) }));
    const summary = clear($('#cx-summary'));
    for (const name of ['RUNNING', 'PAUSED', 'FAILED', 'UNREACHABLE']) {
      if (counts[name]) summary.append(h('span', { class: 'sum-item' }, statePill(name, counts[name])));
    }
  }

  function statePill(name, count) {
    if (!name) return h('span', { class: 'state-pill state-unknown', 'data-state': '' }, '—');
    const label = (dict().states || {})[name] || name;
    return h('span', { class: `state-pill state-${name.toLowerCase()}`, 'data-state': name, title: name },
      h('span', { class: 'state-dot' }), count === undefined ? label : `${label} · ${count}`);
  }

  const RENDERERS = [renderStatus, renderConnectivity, renderDossiers, renderThroughput, renderOps, renderConnectors];

  function render() {
    for (const fn of RENDERERS) {
      try { fn(); } catch (err) { if (window.console) console.warn('dashboard:', fn.name, err); }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Polling

  async function getJSON(url) {
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = ctrl ? setTimeout(() => ctrl.abort(), FETCH_TIMEOUT_MS) : null;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store', signal: ctrl ? ctrl.signal : undefined });
      let body = null;
      try { body = await res.json(); } catch (_) { body = null; }
      return { ok: res.ok, status: res.status, body };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** What to redraw when an endpoint answers (the header status is redrawn every time). */
  const RENDERS_OF = {
    connectivity: [renderConnectivity],
    dossiers: [renderDossiers],
    throughput: [renderThroughput],
    status: [renderConnectors],
    info: [renderConnectors],
    dlq: [renderOps],
    health: [renderOps],
  };

  function run(fns) {
    for (const fn of fns) {
      try { fn(); } catch (err) { if (window.console) console.warn('dashboard:', fn.name, err); }
    }
  }

  /** One endpoint, fetched once; its answer kept, or the failure noted. */
  async function pollOne(key) {
    let v = null;
    try { v = await getJSON(ENDPOINTS[key]); } catch (_) { v = null; }
    // /v1/health answers 503 with a body when degraded: that is an answer, not a failure
    const usable = v && v.body && typeof v.body === 'object' && (v.ok || (key === 'health' && v.status === 503));
    if (usable) {
      state.data[key] = v.body;
      state.failed[key] = false;
      state.lastOk = new Date();
    } else {
      state.failed[key] = true;
    }
    run([renderStatus, ...(usable || !state.data[key] ? RENDERS_OF[key] : [])]);
  }

  /** Each endpoint on its own loop: a slow one (the connector statuses) never holds the others back. */
  function loop(key) {
    pollOne(key)
      .catch((err) => { if (window.console) console.warn('dashboard: poll', key, err); })
      .finally(() => setTimeout(() => loop(key), POLL_MS));
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  function setLang(lang) {
    state.lang = lang === 'en' ? 'en' : 'vi';
    saveLang(state.lang);
    try { renderStatic(); } catch (err) { if (window.console) console.warn('dashboard:', err); }
    render();
  }

  function start() {
    const sw = $('[data-testid="lang-switch"]');
    sw.addEventListener('click', (ev) => {
      const opt = ev.target && ev.target.closest ? ev.target.closest('.lang-opt') : null;
      // clicking a language picks it; clicking elsewhere on the switch toggles
      setLang(opt && opt.dataset.opt !== state.lang ? opt.dataset.opt : state.lang === 'vi' ? 'en' : 'vi');
    });
    try { renderStatic(); } catch (err) { if (window.console) console.warn('dashboard:', err); }
    render();
    setInterval(() => { try { renderClock(); } catch (_) { /* ignore */ } }, 1000);
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(render, 150);
    });
    for (const key of Object.keys(ENDPOINTS)) loop(key);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
