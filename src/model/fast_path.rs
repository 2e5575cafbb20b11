//! The common case of [`decode_page`](super::decode_page) without serde: one pass over the
//! body that reads the declared fields straight into [`Record`]s and skips everything else.
//!
//! Why it exists: decoding through serde-derive and the lenient wrappers cost about as much as
//! the JSON scanning itself (per-field dispatch through `deserialize_any`, key strings matched
//! one by one), which kept the ingest benchmark well under its goal (issue 9). This reader
//! knows the record's shape, so it matches a key once and reads each value as its field wants.
//!
//! It is only ever a shortcut. [`page`] returns `None` whenever it cannot be sure it reads the
//! body exactly as the serde path does, and `decode_page` then decodes the body the serde way
//! (which decides errors, isolates unreadable elements and clamps huge numbers). It gives up on:
//! any JSON syntax error or trailing text; a duplicated known field (the serde path makes that
//! element unreadable); an escaped key of a read object, or a key of a skipped one that does not
//! unescape; a string in a read field that does not unescape; a number in a read field
//! that is not exactly representable the simple way (more than 15 digits, or an exponent
//! beyond ±22, where serde_json's own float parsing may round differently); nesting deeper than
//! 128. Where it returns a page, that page equals the serde path's, element for element: the
//! differential tests in `tests/properties.rs` and the fuzz target check exactly that.

use std::borrow::Cow;

use super::{
    CampaignInfo, Destination, Element, LBool, LCount, LList, LNum, LObj, LStr, NonResponse, Record,
};

/// `None` means "not sure": the caller falls back to the serde path.
type Sure<T> = Option<T>;

/// Reads a whole body (`{"data": [...], ...}` or a bare array of records). The caller has
/// checked that it is UTF-8 as a whole, once: checking each string read instead cost more.
pub(super) fn page(text: &str) -> Option<Vec<Element<'_>>> {
    let mut c = Cursor {
        text,
        b: text.as_bytes(),
        i: 0,
    };
    c.ws();
    let elements = match c.peek()? {
        b'[' => c.elements()?,
        b'{' => {
            let mut data = None;
            c.fields(|c, key| {
                if key != b"data" {
                    return c.skip_value();
                }
                if data.is_some() {
                    return None;
                }
                data = Some(c.elements()?);
                Some(())
            })?;
            data?
        }
        _ => return None,
    };
    c.ws();
    (c.i == c.b.len()).then_some(elements)
}

/// A position in the body. `b` is `text` as bytes: every index the reader slices at is next
/// to an ASCII quote or digit, so slices of `text` are always on character boundaries.
struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Stores a field's value and returns the field's bit for [`Once`].
fn put<T>(slot: &mut T, value: T, bit: u32) -> u32 {
    *slot = value;
    bit
}

/// Which of a struct's known fields were read, to refuse a duplicated one.
#[derive(Default)]
struct Once(u32);

impl Once {
    /// Marks field `bit`; `None` when it was already read.
    fn first(&mut self, bit: u32) -> Sure<()> {
        let mask = 1 << bit;
        if self.0 & mask != 0 {
            return None;
        }
        self.0 |= mask;
        Some(())
    }
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Sure<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, want: u8) -> Sure<()> {
        (self.peek()? == want).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Sure<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    // ---- structure ----

    /// At `open`: calls `member` at each member up to `close`, which it must read or skip
    /// entirely.
    fn members(
        &mut self,
        open: u8,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Sure<()>,
    ) -> Sure<()> {
        self.eat(open)?;
        self.ws();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            member(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// At `{`: calls `field` with each key, positioned at its value, which `field` must read
    /// or skip entirely.
    fn fields(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Sure<()>) -> Sure<()> {
        self.members(b'{', b'}', |c| {
            let key = c.key()?;
            c.colon()?;
            field(c, key)
        })
    }

    /// At `[`: calls `item` at each element, which it must read or skip entirely.
    fn items(&mut self, item: impl FnMut(&mut Self) -> Sure<()>) -> Sure<()> {
        self.members(b'[', b']', item)
    }

    /// After a key: the colon and the white space around it, up to the value.
    fn colon(&mut self) -> Sure<()> {
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// A key: a string without escapes (the serde path matches keys after unescaping).
    fn key(&mut self) -> Sure<&'a [u8]> {
        let (start, end, escaped) = self.string_span()?;
        (!escaped).then(|| &self.b[start..end])
    }

    /// Skips one value of any kind, checking it as strictly as serde_json does when it ignores
    /// a value (or more strictly). Iterative: nesting costs no stack, up to 128 levels.
    fn skip_value(&mut self) -> Sure<()> {
        // One bit per open container, 1 for an object; `depth` of them are in use.
        let mut objects: u128 = 0;
        let mut depth = 0u32;
        loop {
            // A value starts here.
            match self.peek()? {
                b'"' => {
                    self.string_span()?;
                }
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    self.ws();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.eat(close).is_none() {
                        if depth == 128 {
                            return None;
                        }
                        objects = (objects << 1) | u128::from(open == b'{');
                        depth += 1;
                        if open == b'{' {
                            self.member_key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                _ => return None,
            }
            // The value ended: close what it ends, or move to the next member.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                let in_object = objects & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if in_object {
                            self.member_key()?;
                        }
                        break;
                    }
                    b'}' if in_object => {}
                    b']' if !in_object => {}
                    _ => return None,
                }
                self.i += 1;
                objects >>= 1;
                depth -= 1;
            }
        }
    }

    /// Inside a skipped object: a key, the colon, and the white space up to the value. An
    /// escaped key must unescape (serde_json parses the keys of an object it skips in a read
    /// field, and refuses a lone surrogate there).
    fn member_key(&mut self) -> Sure<()> {
        let (start, end, escaped) = self.string_span()?;
        if escaped && serde_json::from_str::<String>(&self.text[start - 1..=end]).is_err() {
            return None;
        }
        self.colon()
    }

    // ---- strings ----

    /// At `"`: finds the string's end. Returns the content's span and whether it holds escapes.
    /// Refuses what serde_json refuses in a string it skips (control characters, bad escapes, a
    /// missing end); strings that are read are unescaped, and so checked, by serde_json.
    fn string_span(&mut self) -> Sure<(usize, usize, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = next_special(self.b, i);
            match *self.b.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    return Some((start, i, escaped));
                }
                b'\\' => {
                    escaped = true;
                    i = self.escape_end(i + 1)?;
                }
                _ => return None,
            }
        }
    }

    /// The index after the escape whose letter is at `i`.
    fn escape_end(&self, i: usize) -> Sure<usize> {
        match *self.b.get(i)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
            b'u' => {
                let hex = self.b.get(i + 1..i + 5)?;
                hex.iter().all(u8::is_ascii_hexdigit).then_some(i + 5)
            }
            _ => None,
        }
    }

    /// A string value in a field that is read: borrowed when it has no escapes, else unescaped
    /// by serde_json itself.
    fn string(&mut self) -> Sure<Cow<'a, str>> {
        let (start, end, escaped) = self.string_span()?;
        if !escaped {
            return Some(Cow::Borrowed(&self.text[start..end]));
        }
        serde_json::from_str::<String>(&self.text[start - 1..=end])
            .ok()
            .map(Cow::Owned)
    }

    // ---- numbers ----

    /// Checks a number literal against the JSON grammar and returns its value when it is
    /// "simple": at most 15 digits and a decimal exponent within ±22, so that it is exactly
    /// a 53-bit integer times or divided by an exact power of ten, and every correct parser
    /// (serde_json's included) rounds it to the same `f64`.
    fn number(&mut self) -> Sure<Option<f64>> {
        let start = self.i;
        let b = self.b;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return None,
        }
        let mut digits = i - int_start;
        let mut scale = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == frac_start {
                return None;
            }
            digits += i - frac_start;
            scale -= (i - frac_start) as i64;
        }
        let mut exponent_ok = true;
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            let mut exp = 0i64;
            while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
                exp = (exp * 10 + i64::from(d - b'0')).min(1_000_000);
                i += 1;
            }
            if i == exp_start {
                return None;
            }
            scale += if negative { -exp } else { exp };
            exponent_ok = i - exp_start <= 4;
        }
        self.i = i;
        let simple = digits <= 15 && exponent_ok && (-22..=22).contains(&scale);
        Some(if simple {
            Some(self.text[start..i].parse::<f64>().ok()?)
        } else {
            None
        })
    }

    // ---- the lenient field types ----

    /// A value of the wrong type for a field that is read: skipped, but a scalar in that place
    /// is one serde_json parses (and may refuse): a string must unescape, and only a simple
    /// number is taken.
    fn other(&mut self) -> Sure<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number()?.map(drop),
            _ => self.skip_value(),
        }
    }

    fn lstr(&mut self) -> Sure<LStr<'a>> {
        if self.peek()? == b'"' {
            return Some(LStr(Some(self.string()?)));
        }
        self.other()?;
        Some(LStr(None))
    }

    fn lnum(&mut self) -> Sure<LNum> {
        Some(match self.peek()? {
            b'"' => LNum::from_text(&self.string()?),
            b'-' | b'0'..=b'9' => LNum::Value(self.number()??),
            b'n' => {
                self.literal(b"null")?;
                LNum::Absent
            }
            b't' | b'f' | b'[' | b'{' => {
                self.skip_value()?;
                LNum::Unusable
            }
            _ => return None,
        })
    }

    fn lbool(&mut self) -> Sure<LBool> {
        Some(match self.peek()? {
            b't' => {
                self.literal(b"true")?;
                LBool(Some(true))
            }
            b'f' => {
                self.literal(b"false")?;
                LBool(Some(false))
            }
            b'"' => LBool::from_text(&self.string()?),
            _ => {
                self.other()?;
                LBool(None)
            }
        })
    }

    fn lobj<T>(&mut self, read: impl FnOnce(&mut Self) -> Sure<T>) -> Sure<LObj<T>> {
        if self.peek()? == b'{' {
            return Some(LObj(Some(read(self)?)));
        }
        self.other()?;
        Some(LObj(None))
    }

    fn llist<T>(&mut self, mut read: impl FnMut(&mut Self) -> Sure<T>) -> Sure<LList<T>> {
        if self.peek()? != b'[' {
            self.other()?;
            return Some(LList(None));
        }
        let mut out = Vec::new();
        self.items(|c| {
            out.push(read(c)?);
            Some(())
        })?;
        Some(LList(Some(out)))
    }

    fn lcount(&mut self) -> Sure<LCount> {
        if self.peek()? != b'[' {
            self.other()?;
            return Some(LCount(None));
        }
        let mut n = 0;
        self.items(|c| {
            n += 1;
            c.skip_value()
        })?;
        Some(LCount(Some(n)))
    }

    // ---- the record ----

    fn elements(&mut self) -> Sure<Vec<Element<'a>>> {
        // Pages hold at most `limit` (100) elements.
        let mut out = Vec::with_capacity(128);
        self.items(|c| {
            if c.peek()? != b'{' {
                c.other()?;
                out.push(Element::Unreadable);
                return Some(());
            }
            // Filled in place, where it will stay: no record is moved.
            out.push(Element::Record(Record::default()));
            let Some(Element::Record(record)) = out.last_mut() else {
                unreachable!("a record was just pushed")
            };
            c.record(record)
        })?;
        Some(out)
    }

    fn record(&mut self, r: &mut Record<'a>) -> Sure<()> {
        let mut once = Once::default();
        self.fields(|c, key| {
            let bit = match key {
                b"conversationId" => put(&mut r.conversation_id, c.lstr()?, 0),
                b"sessionId" => put(&mut r.session_id, c.lstr()?, 1),
                b"channel" => put(&mut r.channel, c.lstr()?, 2),
                b"Direction" => put(&mut r.direction_upper, c.lstr()?, 3),
                b"direction" => put(&mut r.direction_lower, c.lstr()?, 4),
                b"sessionStartTime" => put(&mut r.session_start_time, c.lstr()?, 5),
                b"sessionEndTime" => put(&mut r.session_end_time, c.lstr()?, 6),
                b"isVoicemail" => put(&mut r.is_voicemail, c.lbool()?, 7),
                b"finalStatus" => put(&mut r.final_status, c.lstr()?, 8),
                b"smartStatus" => put(&mut r.smart_status, c.lstr()?, 9),
                b"reason" => put(&mut r.reason, c.lstr()?, 10),
                b"dispositions" => put(&mut r.dispositions, c.llist(Self::lstr)?, 11),
                b"disconnectingEvent" => put(&mut r.disconnecting_event, c.lstr()?, 12),
                b"destinations" => {
                    r.destinations = c.llist(|c| c.lobj(Self::destination))?;
                    13
                }
                b"csatScore" => put(&mut r.csat_score, c.lnum()?, 14),
                b"npsScore" => put(&mut r.nps_score, c.lnum()?, 15),
                b"likeDislikeScore" => put(&mut r.like_dislike_score, c.lnum()?, 16),
                b"surveyType" => put(&mut r.survey_type, c.lstr()?, 17),
                b"campaigninfo" => put(&mut r.campaigninfo, c.lobj(Self::campaign)?, 18),
                _ => return c.skip_value(),
            };
            once.first(bit)
        })
    }

    fn destination(&mut self) -> Sure<Destination<'a>> {
        let mut d = Destination::default();
        let mut once = Once::default();
        self.fields(|c, key| {
            let bit = match key {
                b"destinationType" => put(&mut d.destination_type, c.lstr()?, 0),
                b"queueId" => put(&mut d.queue_id, c.lstr()?, 1),
                b"queueName" => put(&mut d.queue_name, c.lstr()?, 2),
                b"EnterTime" => put(&mut d.enter_time, c.lstr()?, 3),
                b"CallbackOpted" => put(&mut d.callback_opted, c.lbool()?, 4),
                b"userCallbackAcceptTime" => put(&mut d.user_callback_accept_time, c.lstr()?, 5),
                b"respondingAgent" => {
                    d.responding_agent = c.lobj(|c| c.destination().map(Box::new))?;
                    6
                }
                b"nonRespondingAgents" => {
                    d.non_responding_agents = c.llist(|c| c.lobj(Self::non_response))?;
                    7
                }
                b"status" => put(&mut d.status, c.lstr()?, 8),
                b"acceptedTime" => put(&mut d.accepted_time, c.lstr()?, 9),
                b"firstResponseTime" => put(&mut d.first_response_time, c.lstr()?, 10),
                b"firstResponseDuration" => put(&mut d.first_response_duration, c.lnum()?, 11),
                b"interactionDuration" => put(&mut d.interaction_duration, c.lnum()?, 12),
                b"afterCallWorkDuration" => put(&mut d.after_call_work_duration, c.lnum()?, 13),
                b"ConsultingAgents" => put(&mut d.consulting_agents, c.lcount()?, 14),
                _ => return c.skip_value(),
            };
            once.first(bit)
        })?;
        Some(d)
    }

    fn non_response(&mut self) -> Sure<NonResponse<'a>> {
        let mut n = NonResponse::default();
        let mut once = Once::default();
        self.fields(|c, key| match key {
            b"nonResponseEvent" => {
                n.non_response_event = c.lstr()?;
                once.first(0)
            }
            _ => c.skip_value(),
        })?;
        Some(n)
    }

    fn campaign(&mut self) -> Sure<CampaignInfo<'a>> {
        let mut info = CampaignInfo::default();
        let mut once = Once::default();
        self.fields(|c, key| {
            let bit = match key {
                b"campaignName" => put(&mut info.campaign_name, c.lstr()?, 0),
                b"contactStatus" => put(&mut info.contact_status, c.lstr()?, 1),
                _ => return c.skip_value(),
            };
            once.first(bit)
        })?;
        Some(info)
    }
}

/// The first index from `i` holding `"`, `\` or a control character (or `b.len()`), eight
/// bytes at a time: the classic "has a zero byte" bit trick, as serde_json uses. The lowest
/// flagged byte is always a true match (false positives only appear above one).
fn next_special(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    match sse2::find_special(b, i) {
        Ok(hit) => return hit,
        Err(rest) => i = rest,
    }
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let q = x ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let s = x ^ (ONES * u64::from(b'\\'));
        let backslash = s.wrapping_sub(ONES) & !s;
        let hit = (control | quote | backslash) & HIGH;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// Sixteen bytes at a time where SSE2 is (every x86-64 CPU has it).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// `Ok` with the first index from `i` that holds `"`, `\` or a control character, looking
    /// at whole 16-byte blocks only; `Err` with where the last, shorter stretch starts when
    /// none of those blocks holds one (the caller looks at the rest).
    pub(super) fn find_special(b: &[u8], mut i: usize) -> Result<usize, usize> {
        while let Some(block) = b.get(i..i + 16) {
            // SAFETY: SSE2 is part of x86-64; `block` is 16 readable bytes and
            // `_mm_loadu_si128` has no alignment requirement.
            let hits = unsafe {
                let x = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
                // x <= 0x1F (unsigned) exactly when max(x, 0x1F) == 0x1F.
                let limit = _mm_set1_epi8(0x1F);
                let control = _mm_cmpeq_epi8(_mm_max_epu8(x, limit), limit);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
            };
            if hits != 0 {
                return Ok(i + hits.trailing_zeros() as usize);
            }
            i += 16;
        }
        Err(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_special_finds_the_first_quote_backslash_or_control_byte() {
        for text in [
            "",
            "abc",
            "abcdefgh\"",
            "abcdefghijklmno\\p",
            "ab\u{1}",
            "h\u{e9}llo w\u{f6}rld, \u{1f600}\"",
            "\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{a0}\u{1f}",
            "0123456789abcdef0123456789abcdef\"0123456789abcdef\u{7f}\u{80}\u{ff}\\x",
            "\u{1f}0123456789abcdef0123456789abcdef\u{0}",
        ] {
            let b = text.as_bytes();
            for from in 0..=b.len() {
                let want = (from..b.len())
                    .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
                    .unwrap_or(b.len());
                assert_eq!(next_special(b, from), want, "{text:?} from {from}");
            }
        }
    }

    #[test]
    fn simple_numbers_only() {
        let num = |t: &str| {
            let mut c = Cursor {
                text: t,
                b: t.as_bytes(),
                i: 0,
            };
            c.number().map(|v| (v, c.i))
        };
        assert_eq!(num("49"), Some((Some(49.0), 2)));
        assert_eq!(num("-2.5e1,"), Some((Some(-25.0), 6)));
        assert_eq!(num("0.1"), Some((Some(0.1), 3)));
        assert_eq!(num("1e22"), Some((Some(1e22), 4)));
        assert_eq!(
            num("1e23"),
            Some((None, 4)),
            "beyond the exact powers of ten"
        );
        assert_eq!(num("1234567890123456"), Some((None, 16)), "16 digits");
        assert_eq!(num("1e400"), Some((None, 5)));
        assert_eq!(num("1e00000000000000000001"), Some((None, 22)));
        for bad in ["01", "-", "1.", "1.e3", "1e", "1e+", "+1", ".5", "-a"] {
            let mut c = Cursor {
                text: bad,
                b: bad.as_bytes(),
                i: 0,
            };
            let n = c.number();
            assert!(
                n.is_none() || c.i < bad.len(),
                "{bad}: must fail or stop early"
            );
        }
    }

    #[test]
    fn skipping_refuses_what_serde_json_refuses() {
        let skips = |t: &str| {
            let mut c = Cursor {
                text: t,
                b: t.as_bytes(),
                i: 0,
            };
            c.skip_value().is_some() && c.i == t.len()
        };
        for good in [
            r#"{"a": [1, -2.5e3, "x\"y\u00e9", true, false, null, {}, []], "b": {"c": {}}}"#,
            "[[[[]]]]",
            r#""\/\b\f\n\r\t""#,
        ] {
            assert!(skips(good), "{good}");
        }
        for bad in [
            r#"{"a": 1,}"#,
            "[1,]",
            "[1 2]",
            r#"{"a" 1}"#,
            r#"{1: 2}"#,
            "[}",
            "{]",
            r#""\x""#,
            r#""\u12""#,
            "\"a\u{1}\"",
            "tru",
            "nul",
            "[01]",
            "\"open",
        ] {
            assert!(!skips(bad), "{bad}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(!skips(&deep), "beyond 128 levels the serde path decides");
        let deep = "[".repeat(128) + &"]".repeat(128);
        assert!(skips(&deep));
    }
}
