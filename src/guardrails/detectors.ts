/**
 * Detectors: what a text guardrail looks for. A detector is a global regex for candidates, an
 * optional check that turns a candidate into a finding (Luhn for card numbers, mod-97 for IBANs) and
 * the text a finding is masked with. The same detectors run on whole prompts and replies, inside the
 * stream window (src/guardrails/stream-window.ts) and on what sinks receive (`redact.detectors`).
 */

/** One kind of finding: a pattern, an optional validity check, and its mask. */
export interface Detector {
  /** Names the finding in errors and docs (`email`, `card_number`, `openai_key`, ...). */
  readonly name: string
  /** A regex with the `g` flag; every match is a candidate. */
  readonly pattern: RegExp
  /** Turns a candidate into a finding (a checksum); default every candidate is one. */
  readonly valid?: (candidate: string) => boolean
  /** What a finding is replaced with; default `[NAME]` in capitals. */
  readonly mask?: string
  /**
   * Text every match contains (a string, found with `indexOf`) or a cheaper regex: when the text has
   * none, the pattern is not run. Keeps the stream window's per-chunk cost low on ordinary prose.
   */
  readonly hint?: string | RegExp
}

/** A finding in a text: where it is, and which detector found it. */
export interface Finding {
  start: number
  end: number
  detector: Detector
}

/**
 * Every candidate match of `detectors` in `text`, validated or not, sorted by start: the stream window
 * must hold back a candidate that may still grow into a finding.
 */
export function findCandidates(text: string, detectors: ReadonlyArray<Detector>, from = 0): Finding[] {
  const found: Finding[] = []
  for (const detector of detectors) {
    const hint = detector.hint
    if (hint !== undefined && (typeof hint === 'string' ? text.indexOf(hint, from) === -1 : !hint.test(text))) continue
    const pattern = detector.pattern
    pattern.lastIndex = from
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match[0] === '') {
        pattern.lastIndex++
        continue
      }
      found.push({ start: match.index, end: match.index + match[0].length, detector })
    }
  }
  return found.sort((left, right) => left.start - right.start || right.end - left.end)
}

/**
 * The findings of `detectors` in `text`: validated candidates, sorted, overlaps dropped (the earlier,
 * then the longer, wins).
 *
 * @example
 * ```ts
 * findFindings('mail me at ada@example.com', [emailDetector]) // [{ start: 11, end: 26, detector: emailDetector }]
 * ```
 */
export function findFindings(text: string, detectors: ReadonlyArray<Detector>, from = 0): Finding[] {
  const findings: Finding[] = []
  let reached = -1
  for (const candidate of findCandidates(text, detectors, from)) {
    if (candidate.start < reached) continue
    if (candidate.detector.valid && !candidate.detector.valid(text.slice(candidate.start, candidate.end))) continue
    findings.push(candidate)
    reached = candidate.end
  }
  return findings
}

/** The mask of a detector: its own, else `[NAME]`. */
export function maskOf(detector: Detector): string {
  return detector.mask ?? `[${detector.name.toUpperCase()}]`
}

/**
 * `text` with every finding of `detectors` replaced by its mask; the same string when nothing matched.
 *
 * @example
 * ```ts
 * maskText('card 4242 4242 4242 4242', piiDetectors()) // 'card [CARD_NUMBER]'
 * ```
 */
export function maskText(text: string, detectors: ReadonlyArray<Detector>): string {
  const findings = findFindings(text, detectors)
  return findings.length === 0 ? text : applyMasks(text, findings)
}

/** `text` with `findings` (sorted, not overlapping) replaced by their masks. */
export function applyMasks(text: string, findings: ReadonlyArray<Finding>, offset = 0): string {
  let out = ''
  let position = 0
  for (const finding of findings) {
    out += text.slice(position, finding.start - offset) + maskOf(finding.detector)
    position = finding.end - offset
  }
  return out + text.slice(position)
}

/** The Luhn checksum every payment card number passes. */
export function passesLuhn(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '')
  if (digits.length < 13 || digits.length > 19) return false
  let sum = 0
  for (let index = 0; index < digits.length; index++) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48
    if (index % 2 === 1) {
      digit *= 2
      if (digit > 9) digit -= 9
    }
    sum += digit
  }
  return sum % 10 === 0
}

/** ISO 13616's mod-97 check every IBAN passes (country letters moved to the end, letters as 10..35). */
export function passesIbanCheck(candidate: string): boolean {
  const iban = candidate.replace(/\s/g, '').toUpperCase()
  if (iban.length < 15 || iban.length > 34) return false
  const rearranged = iban.slice(4) + iban.slice(0, 4)
  let remainder = 0
  for (const character of rearranged) {
    const code = character.charCodeAt(0)
    const value = code >= 65 ? code - 55 : code - 48
    remainder = (value > 9 ? remainder * 100 + value : remainder * 10 + value) % 97
  }
  return remainder === 1
}

function isIpv4(candidate: string): boolean {
  return candidate.split('.').every((part) => Number(part) <= 255)
}

/**
 * PII detectors: e-mail addresses, phone numbers, payment card numbers (Luhn-checked), IBANs
 * (mod-97-checked) and IP addresses (v4, and v6 in full or compressed form).
 *
 * @example
 * ```ts
 * maskText('call +44 20 7946 0958', piiDetectors()) // 'call [PHONE]'
 * ```
 */
export function piiDetectors(): Detector[] {
  return [
    { name: 'email', hint: '@', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
    { name: 'iban', hint: /\d\d/, pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, valid: passesIbanCheck },
    { name: 'card_number', hint: /\d\d/, pattern: /\b\d(?:[ -]?\d){12,18}\b/g, valid: passesLuhn },
    { name: 'ip_address', hint: /\d\.\d/, pattern: /\b(?:\d{1,3}\.){3}\d{1,3}\b/g, valid: isIpv4 },
    { name: 'ip_address', hint: /[0-9A-Fa-f]:[0-9A-Fa-f:]/, pattern: /\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}\b)?/g },
    { name: 'phone', hint: /\d\d/, pattern: /(?:\+\d{1,3}[ .-]?)?\(?\d{2,4}\)?(?:[ .-]?\d{2,4}){2,4}\b/g, valid: (candidate) => candidate.replace(/\D/g, '').length >= 9 },
  ]
}

/**
 * Credential detectors by shape: OpenAI / Anthropic (`sk-...`), AWS access key ids, GitHub, Slack,
 * Stripe and Google API keys, JSON Web Tokens, `Bearer` tokens and PEM private key blocks.
 *
 * @example
 * ```ts
 * maskText('my key is sk-proj-abcdefghijklmnopqrstuv', secretDetectors()) // 'my key is [SECRET]'
 * ```
 */
export function secretDetectors(): Detector[] {
  const mask = '[SECRET]'
  return [
    // A PEM block: header, then base64 body; the END line when it is there.
    { name: 'private_key', mask, hint: '-----BEGIN', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s]*(?:-----END [A-Z ]*PRIVATE KEY-----)?/g },
    { name: 'api_key', mask, hint: 'sk-', pattern: /\bsk-(?:[A-Za-z]+-)?[A-Za-z0-9_-]{20,}/g },
    { name: 'aws_access_key', mask, hint: /A[KS]IA/, pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
    { name: 'github_token', mask, hint: /gh[pousr]_|github_pat_/, pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/g },
    { name: 'slack_token', mask, hint: 'xox', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
    { name: 'stripe_key', mask, hint: /_(?:live|test)_/, pattern: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
    { name: 'google_api_key', mask, hint: 'AIza', pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
    { name: 'jwt', mask, hint: 'eyJ', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
    { name: 'bearer_token', mask: 'Bearer [SECRET]', hint: 'earer', pattern: /\b[Bb]earer\s+[A-Za-z0-9\-._~+/]{8,}=*/g },
  ]
}

/**
 * One detector for a list of words or phrases, matched case-insensitively as whole words.
 *
 * @example
 * ```ts
 * maskText('Project Falcon ships', [keywordDetector(['project falcon'])]) // '[BANNED_KEYWORD] ships'
 * ```
 */
export function keywordDetector(keywords: ReadonlyArray<string>, name = 'banned_keyword'): Detector {
  const alternatives = [...keywords].sort((left, right) => right.length - left.length).map((keyword) => keyword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'))
  return { name, pattern: new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'giu') }
}
