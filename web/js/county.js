// The county's time zone, from the service's settings (GET /api/config): times are shown, and
// months counted, in the county's zone, whatever zone the reader's device is set to, so an
// officer travelling or a phone left on another zone sees the bureau's dates.

let zone;

/**
 * Sets the county's zone; until it is set (or when the service names none) the device's is used.
 * @param {string | undefined} timezone an IANA zone such as 'Asia/Shanghai'
 */
export function setCountyZone(timezone) {
  zone = timezone || undefined;
}

/**
 * The county's IANA time zone, as Intl's `timeZone` option takes it.
 * @returns {string | undefined}
 */
export const countyZone = () => zone;

/**
 * The county's calendar day at an instant.
 * @param {Date} instant
 * @returns {string} YYYY-MM-DD
 */
export const dayInCounty = (instant) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(instant);
