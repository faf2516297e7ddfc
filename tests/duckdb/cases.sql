-- The dialect suite: each case runs in osiris (duckdb.processor over the
-- frames of fixtures/movies.csv and fixtures/people.csv, tables df_movies
-- and df_people) and in DuckDB itself (@duckdb/node-api over the same
-- frames), and the results must agree value for value.  A case marked
-- "single" has one upstream step (tables df, input_df, df_movies; the
-- input is streamed into DuckDB).  Cases are separated by "-- case:" lines.
-- case: window_rank
SELECT id, title, rank() OVER (PARTITION BY director ORDER BY rating DESC NULLS LAST) AS r,
       sum(rating) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS moving,
       lag(title) OVER (ORDER BY id) AS prev
FROM df_movies ORDER BY id
-- case: qualify
SELECT director, title FROM df_movies
QUALIFY row_number() OVER (PARTITION BY director ORDER BY rating DESC NULLS LAST, id) = 1
ORDER BY director
-- case: group_by_all
SELECT director, count(*) AS n, avg(rating) AS avg_rating FROM df_movies GROUP BY ALL ORDER BY ALL
-- case: casts
SELECT id::VARCHAR AS s, '42'::INTEGER AS i, rating::INTEGER AS r, year::DOUBLE / 7 AS d,
       TRY_CAST('abc' AS INTEGER) AS bad, TRY_CAST('12' AS INTEGER) AS good
FROM df_movies ORDER BY id
-- case: division
SELECT 7 / 2 AS a, 7 // 2 AS b, -7 // 2 AS c, 7 % 3 AS m, CAST(1995 / 10 AS INTEGER) AS rounded,
       year // 10 * 10 AS decade, CAST(year / 10 AS INTEGER) * 10 AS rounded_decade
FROM df_movies ORDER BY id
-- case: dates
SELECT id, date_trunc('month', released) AS m, date_diff('day', added, DATE '2024-01-01') AS dd,
       strftime(released, '%Y') AS y, epoch(released) AS ep, released + INTERVAL 1 DAY AS nxt,
       extract(year FROM added) AS yr, added + 30 AS later, last_day(added) AS eom
FROM df_movies ORDER BY id
-- case: intervals
SELECT INTERVAL '1 year 2 months 3 days 04:05:06.789' AS i, released - TIMESTAMP '1950-01-01' AS since,
       age(TIMESTAMP '2024-01-01', TIMESTAMP '2020-02-29') AS a, -INTERVAL '36 hours' AS neg,
       INTERVAL 0 SECOND AS zero
FROM df_movies ORDER BY id
-- case: strings
SELECT title ILIKE 'light%' AS il, title LIKE 'light%' AS lk, upper(title) AS u,
       regexp_replace(title, '[aeiou]', '_', 'g') AS rr, concat_ws('-', title, director) AS cw,
       string_split(title, ' ') AS parts, length(title) AS len, regexp_matches(title, '^L') AS rm,
       regexp_extract(title, '(\w+)$', 1) AS last_word, split_part(title, ' ', 1) AS first_word,
       strip_accents(title) AS plain, reverse(title) AS rev
FROM df_movies ORDER BY id
-- case: aggregates
SELECT director, median(rating) AS med, quantile_cont(rating, 0.25) AS q1,
       string_agg(title, '|' ORDER BY id) AS titles, arg_max(title, rating) AS best,
       count_if(rating > 7) AS good, count(*) FILTER (WHERE year > 2000) AS recent,
       list(id ORDER BY id) AS ids, sum(year) AS years
FROM df_movies GROUP BY director ORDER BY director NULLS FIRST
-- case: null_order
SELECT director, id FROM df_movies ORDER BY director, id
-- case: null_order_desc
SELECT director, rating FROM df_movies ORDER BY rating DESC, id
-- case: big_sums
SELECT sum(x) AS s, sum(x) // 4 AS q FROM (SELECT 9223372036854775807 AS x UNION ALL SELECT 9223372036854775807)
-- case: sums_in_int64
SELECT sum(id) AS s, sum(year) * 1000000 AS big_but_fits FROM df_movies
-- case: wide_integers
-- (38 digits at most: the output goes through Parquet, whose DECIMAL stops there)
SELECT 18446744073709551615::UBIGINT AS u, (-17014118346046923173168730371588410572)::HUGEINT AS h,
       34028236692093846346337460743176821145::UHUGEINT AS uh, 5::UBIGINT AS small, (-5)::HUGEINT AS neg
-- case: booleans
SELECT id, rating > 7 AS good, NOT seen AS unseen, seen AND rating > 7 AS both_flags FROM df_movies ORDER BY id
-- case: join
SELECT p.name, m.title, p.score FROM df_people p JOIN df_movies m ON p.movie_id = m.id ORDER BY p.id
-- case: left_join
SELECT p.name, m.title, coalesce(m.director, 'n/a') AS director FROM df_people p
LEFT JOIN df_movies m ON p.movie_id = m.id ORDER BY p.id
-- case: exclude
SELECT * EXCLUDE (title, released) FROM df_movies ORDER BY id
-- case: distinct_on
SELECT DISTINCT ON (director) director, title FROM df_movies ORDER BY director, rating DESC NULLS LAST
-- case: union_by_name
SELECT id, title FROM df_movies WHERE id < 3 UNION ALL BY NAME SELECT title, id FROM df_movies WHERE id > 5 ORDER BY id
-- case: alias_reuse
SELECT rating * 10 AS pct, pct / 2 AS half FROM df_movies ORDER BY id
-- case: decimals
SELECT 0.1::DECIMAL(18,3) + 0.2::DECIMAL(18,3) AS s, 123456789012345678901234567890.12::DECIMAL(38,2) AS big,
       sum(rating::DECIMAL(10,2)) AS tot, (-1.5)::DECIMAL(4,1) AS neg, 0.001::DECIMAL(9,3) AS tiny
FROM df_movies
-- case: every_type
SELECT true AS b, 1::TINYINT AS t, 2::SMALLINT AS s, 3::INTEGER AS i, 4::BIGINT AS bi, 5::UTINYINT AS ut,
       6::USMALLINT AS us, 7::UINTEGER AS ui, 1.5::FLOAT AS f, 2.5::DOUBLE AS d, 'x'::VARCHAR AS v,
       DATE '2024-02-29' AS dt, TIME '12:34:56.789' AS tm, '12:00:00+05:30'::TIMETZ AS ttz,
       TIMESTAMP '2024-01-01 10:00:00.123456' AS ts, TIMESTAMPTZ '2024-01-01 10:00:00+02' AS tstz,
       '2024-01-01 10:00:01'::TIMESTAMP_S AS tss, '2024-01-01 10:00:01.123'::TIMESTAMP_MS AS tsms,
       '2024-01-01 10:00:01.123456789'::TIMESTAMP_NS AS tsns, INTERVAL 90 MINUTE AS iv,
       '00112233-4455-6677-8899-aabbccddeeff'::UUID AS uu, 'ab\x01'::BLOB AS bl,
       [1, NULL, 3] AS l, {'a': 1, 'b': [true]} AS st, MAP {'k1': 1, 'k2': NULL} AS mp,
       [1, 2, 3]::INTEGER[3] AS arr, union_value(num := 2)::UNION(num INTEGER, str VARCHAR) AS un,
       'b'::ENUM('a', 'b') AS en, [{'x': [1.5, 2.0]}] AS deep
-- case: nulls_of_every_kind
SELECT NULL::INTEGER AS i, NULL::VARCHAR AS v, NULL::DATE AS d, NULL::INTEGER[] AS l,
       NULL::HUGEINT AS h, NULL::DECIMAL(10,2) AS dec, NULL::TIMESTAMP AS ts, NULL::INTERVAL AS iv
-- case: series
SELECT r.range AS x, g.generate_series AS y FROM range(5) AS r, generate_series(1, 2) AS g ORDER BY x, y
-- case: pivot
PIVOT (SELECT coalesce(director, '?') AS director, year > 2000 AS recent FROM df_movies) ON recent USING count(*) ORDER BY director
-- case: from_first
FROM df_movies SELECT id, title WHERE id IN (1, 4) ORDER BY id
-- case: lists
SELECT unnest([1, 2, 3]) AS x, list_transform([1, 2], v -> v * 2) AS doubled, {'a': 7}.a AS field
-- case: natural_join
SELECT * FROM df_movies NATURAL JOIN (SELECT id, name FROM df_people) ORDER BY ALL
-- case: row_struct
SELECT m AS whole_row FROM df_movies m WHERE id < 4 ORDER BY id
-- case: columns_regex
SELECT COLUMNS('^(id|ti)') FROM df_movies ORDER BY id
-- case: count_only
SELECT count(*) AS n FROM df_movies
-- case: exists_subquery
SELECT name FROM df_people p WHERE EXISTS (SELECT 1 FROM df_movies m WHERE m.id = p.movie_id AND m.seen)
ORDER BY name
-- case: filter_only_column
SELECT id FROM df_movies WHERE director IS NULL OR title ILIKE '%night%' ORDER BY id
-- case: single_df single
SELECT count(*) AS n, avg(rating) AS a, min(released) AS first_release FROM df
-- case: single_input_df single
FROM input_df ORDER BY id DESC LIMIT 3
-- case: single_named single
SELECT title, rating::DECIMAL(4,2) AS r FROM df WHERE title LIKE 'Light%' ORDER BY id
