import ServiceKit
import Foundation

/// Writes a ZIP archive of stored (uncompressed) entries as it goes: images and videos are
/// compressed already, so deflating them again would cost CPU and save nothing. Each entry's
/// CRC is computed before its header is written, so the archive needs no data descriptors.
/// Without ZIP64, an archive stays under 4 GiB and 65,535 entries; callers cap it below that.
struct ZipArchive {
    private var central: [UInt8] = []
    private var offset: UInt32 = 0
    private(set) var count = 0

    /// The local header and data of one entry; the caller writes them out in order.
    /// - Parameter crc: the bytes' CRC-32, when the caller computed it elsewhere (off the event loop).
    mutating func entry(name: String, bytes: [UInt8], modified: Date, crc given: UInt32? = nil) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let crc = given ?? CRC32.checksum(bytes)
        let (time, date) = Self.dosTime(modified)
        var header: [UInt8] = []
        header.append32(0x0403_4b50)
        header.append16(20)            // version needed: 2.0
        header.append16(0x0800)        // flags: names are UTF-8
        header.append16(0)             // method: stored
        header.append16(time); header.append16(date)
        header.append32(crc)
        header.append32(UInt32(bytes.count)); header.append32(UInt32(bytes.count))
        header.append16(UInt16(nameBytes.count)); header.append16(0)
        header += nameBytes

        central.append32(0x0201_4b50)
        central.append16(20); central.append16(20)
        central.append16(0x0800); central.append16(0)
        central.append16(time); central.append16(date)
        central.append32(crc)
        central.append32(UInt32(bytes.count)); central.append32(UInt32(bytes.count))
        central.append16(UInt16(nameBytes.count))
        central.append16(0); central.append16(0)   // extra, comment
        central.append16(0); central.append16(0)   // disk, internal attributes
        central.append32(0)                        // external attributes
        central.append32(offset)
        central += nameBytes

        offset &+= UInt32(header.count + bytes.count)
        count += 1
        return header + bytes
    }

    /// The central directory and its end record: the archive's last bytes.
    func finish() -> [UInt8] {
        var end = central
        end.append32(0x0605_4b50)
        end.append16(0); end.append16(0)
        end.append16(UInt16(count)); end.append16(UInt16(count))
        end.append32(UInt32(central.count))
        end.append32(offset)
        end.append16(0)
        return end
    }

    static func dosTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!  // '!' is fine: UTC always exists.
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(max((c.year ?? 1980) - 1980, 0) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }
}

extension Array where Element == UInt8 {
    mutating func append16(_ value: UInt16) {
        append(UInt8(value & 0xFF)); append(UInt8(value >> 8))
    }

    mutating func append32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }
}
