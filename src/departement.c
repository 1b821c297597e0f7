/*
 * src/departement.c
 *     The INSEE codes of the départements an import may name: 01-19, 2A, 2B
 *     (Corsica replaced 20 in 1976), 21-95, and the overseas 971-976. Codes
 *     are compared as strings, exactly as Ecoloweb stores them (varchar(3)),
 *     so "1", "2a" or " 22" are refused rather than guessed.
 */
#include "departement.h"

#include <string.h>

static const char *const all_codes[] = {
        "01", "02", "03", "04", "05", "06",  "07",  "08",  "09",  "10",  "11",  "12", "13",
        "14", "15", "16", "17", "18", "19",  "2A",  "2B",  "21",  "22",  "23",  "24", "25",
        "26", "27", "28", "29", "30", "31",  "32",  "33",  "34",  "35",  "36",  "37", "38",
        "39", "40", "41", "42", "43", "44",  "45",  "46",  "47",  "48",  "49",  "50", "51",
        "52", "53", "54", "55", "56", "57",  "58",  "59",  "60",  "61",  "62",  "63", "64",
        "65", "66", "67", "68", "69", "70",  "71",  "72",  "73",  "74",  "75",  "76", "77",
        "78", "79", "80", "81", "82", "83",  "84",  "85",  "86",  "87",  "88",  "89", "90",
        "91", "92", "93", "94", "95", "971", "972", "973", "974", "975", "976",
};

#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

/* is_digit tells whether c is an ASCII digit (isdigit() depends on the locale). */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * departement_is_valid tells whether code is exactly one of the INSEE codes
 * above. Checked by shape rather than by table lookup: it runs on every
 * untrusted string (command line, protocol frames).
 */
bool departement_is_valid(const char *code)
{
	size_t len;

	if (!code)
		return false;
	len = strnlen(code, 4);
	if (len == 2) {
		if (code[0] == '2' && (code[1] == 'A' || code[1] == 'B'))
			return true;
		if (!is_digit(code[0]) || !is_digit(code[1]))
			return false;
		/* 00, 20 (split into 2A/2B) and 96-99 do not exist */
		return strcmp(code, "00") != 0 && strcmp(code, "20") != 0 && strcmp(code, "96") < 0;
	}
	if (len == 3)
		return code[0] == '9' && code[1] == '7' && code[2] >= '1' && code[2] <= '6';
	return false;
}

/* departement_all returns every valid code in INSEE order (2A, 2B where 20 was). */
const char *const *departement_all(size_t *n)
{
	if (n)
		*n = N_CODES;
	return all_codes;
}
