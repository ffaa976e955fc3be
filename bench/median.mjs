// The median of a list of numbers, for the report and its parts (plain JavaScript, as the runner imports them).

/** The median of the finite numbers in `values`; NaN when there is none. */
export function median(values) {
  const finite = values.filter((value) => typeof value === 'number' && Number.isFinite(value)).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const middle = Math.floor(finite.length / 2)
  return finite.length % 2 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2
}
