# Turn SQL_DIR/NNN-*.sql into a C file holding the migrations in order.
# Invoked as: cmake -DSQL_DIR=... -DOUT=... [-DNAME=...] [-DFIRST=N]
#             -P embed_sql.cmake
# NAME is the C array (default inv_migrations); its length is NAME's
# prefix with "_nmigrations" (inv_migrations -> inv_nmigrations).  FIRST
# is the number of the first file (default 1): sql/postgresql/ starts at
# the inventory's version 3.
if(NOT NAME)
  set(NAME inv_migrations)
endif()
if(NOT FIRST)
  set(FIRST 1)
endif()
string(REPLACE "_migrations" "_nmigrations" COUNT "${NAME}")
file(GLOB files "${SQL_DIR}/[0-9][0-9][0-9]-*.sql")
list(SORT files)
set(body "/* Generated from ${SQL_DIR} by cmake/embed_sql.cmake: do not edit. */\n")
string(APPEND body "#include \"migrations.h\"\n\nconst struct migration ${NAME}[] = {\n")
set(expect ${FIRST})
foreach(f ${files})
  get_filename_component(name "${f}" NAME)
  string(SUBSTRING "${name}" 0 3 num)
  math(EXPR n "${num}")
  if(NOT n EQUAL expect)
    message(FATAL_ERROR "${SQL_DIR}: expected migration ${expect}, found ${name}")
  endif()
  math(EXPR expect "${expect} + 1")
  file(READ "${f}" text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\n" "\\n\"\n\t\"" text "${text}")
  string(APPEND body "\t{ ${n}, \"${name}\",\n\t\"${text}\" },\n")
endforeach()
string(APPEND body "};\n\nconst int ${COUNT} = sizeof(${NAME}) / sizeof(${NAME}[0]);\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
