<?php
// peer.php - the boot-script server a site would write in PHP: bench/run's
// php-fpm row, the peer bootd is measured against.
//
// PHP-FPM (pm = static, opcache on) with PDO SQLite and a persistent
// connection: per request, take mac= in any spelling, bring it to
// aa:bb:cc:dd:ee:ff, run the lookup bench/run gives (:mac, :now -> fqdn,
// action, token) and fill one of bootd's three scripts, so the bytes are
// bootd's.  Records nothing.  peer-config.php (written by bench/run, cached
// by opcache) holds the database path, the SQL and the templates.

$c = require $_SERVER['BENCH_DIR'] . '/peer-config.php';

header('Content-Type: text/plain');
header('Cache-Control: no-store');
$hex = strtolower(str_replace([':', '-', '.'], '', $_GET['mac'] ?? ''));
if (!preg_match('/^[0-9a-f]{12}$/', $hex)) {
	http_response_code(400);
	echo "bad mac\n";
	return;
}
$mac = implode(':', str_split($hex, 2));
$db = new PDO('sqlite:' . $c['db'], null, null, [
	PDO::ATTR_PERSISTENT => true,
	PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
	PDO::SQLITE_ATTR_OPEN_FLAGS => PDO::SQLITE_OPEN_READONLY,
]);
$st = $db->prepare($c['sql']);
$st->execute([':mac' => $mac, ':now' => time()]);
$row = $st->fetch(PDO::FETCH_NUM);
if ($row === false) {
	$t = $c['unknown'];
	$row = ['', 'unknown', ''];
} elseif ($row[1] === 'install' && $row[2] !== null) {
	$t = $c['install'];
} else {
	$t = $c['local'];
}
echo strtr($t, ['@FQDN@' => $row[0], '@MAC@' => $mac, '@TOKEN@' => $row[2] ?? '']);
