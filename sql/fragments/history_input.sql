	-- the history rows to import, as the 9 parallel arrays $1..$9 that
	-- worker/import.c's history_input fills (one hrow each): id, capl, cdg,
	-- avenant_id, financement, numero, has_parent, programme_ids, pl1
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[],
	                     $6::int[], $7::bool[], $8::text[], $9::bigint[])
		WITH ORDINALITY AS h(id, capl, cdg, avenant_id, fin, numero, has_parent,
		                     programme_ids, pl1, ord)
